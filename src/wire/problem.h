/*
 * problem.h — errors as HTTP: the one mapping from seg_status to a status
 * code, and RFC 9457 problem+json bodies. Used by the HTTP layer for
 * responses and by the service for errors it reports inside bodies (a
 * failed job, a failed item of a batch).
 */
#ifndef PROBLEM_H
#define PROBLEM_H

#include "codec/buf.h"
#include "core/seg.h"

/* The HTTP status for a failed request with status st (never 2xx). */
int problem_status_of(seg_status st);

/* The reason phrase of an HTTP status code ("Unprocessable Content"). */
const char *problem_reason(int status);

/* The problem type of an error status, a relative URI ("/problems/invalid-request"; static string). */
const char *problem_type(int status);

/*
 * Appends {"type", "title", "status", "detail", "request_id"} to out.
 * detail and request_id borrowed (request_id may be NULL).
 */
seg_status problem_json(int status, const char *detail, const char *request_id, buf *out);

#endif
