/*
 * problem.c — status mapping and problem+json.
 *
 * The "type" of a problem is a relative URI naming its class
 * (/problems/malformed-input, ...), documented in api/openapi.yaml; the
 * title is the class's fixed summary; the detail is the message that was
 * written where the error happened.
 */
#include "wire/problem.h"

#include <cJSON.h>
#include <string.h>

int problem_status_of(seg_status st)
{
	switch (st) {
	case SEG_EINVAL:
		return 422;
	case SEG_EDECODE:
		return 400;
	case SEG_ETOOBIG:
		return 413;
	case SEG_EUNSUPPORTED:
		return 415;
	case SEG_ENOTFOUND:
		return 404;
	case SEG_EMETHOD:
		return 405;
	case SEG_ECONFLICT:
		return 409;
	case SEG_ENOMEM:
	case SEG_EBUSY:
	case SEG_ESTORE:
		return 503;
	case SEG_EIO:
	case SEG_EINTERNAL:
	case SEG_OK:
	default:
		return 500;
	}
}

const char *problem_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

const char *problem_type(int status)
{
	switch (status) {
	case 400:
		return "/problems/malformed-input";
	case 401:
		return "/problems/unauthorized";
	case 403:
		return "/problems/origin-not-allowed";
	case 404:
		return "/problems/not-found";
	case 405:
		return "/problems/method-not-allowed";
	case 406:
		return "/problems/not-acceptable";
	case 409:
		return "/problems/conflict";
	case 411:
		return "/problems/length-required";
	case 413:
		return "/problems/too-large";
	case 415:
		return "/problems/unsupported-media-type";
	case 422:
		return "/problems/invalid-request";
	case 503:
		return "/problems/unavailable";
	default:
		return "/problems/internal-error";
	}
}

seg_status problem_json(int status, const char *detail, const char *request_id, buf *out)
{
	cJSON *o = cJSON_CreateObject();
	char *text;
	seg_status st;

	if (o == NULL)
		return SEG_ENOMEM;
	cJSON_AddStringToObject(o, "type", problem_type(status));
	cJSON_AddStringToObject(o, "title", problem_reason(status));
	cJSON_AddNumberToObject(o, "status", status);
	cJSON_AddStringToObject(o, "detail", detail && *detail ? detail : problem_reason(status));
	if (request_id)
		cJSON_AddStringToObject(o, "request_id", request_id);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return SEG_ENOMEM;
	st = buf_append(out, text, strlen(text));
	cJSON_free(text);
	return st;
}
