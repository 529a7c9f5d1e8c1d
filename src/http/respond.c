/*
 * respond.c — every answer seglossd gives, and how it leaves: the common
 * headers, problem+json, the bearer challenge, CORS preflights, the
 * routes answered on MHD's thread (probes, catalogue, metrics, the web
 * page) and the answers workers computed. All of it runs on MHD's
 * polling thread (see server.c); every answer ends in resp_queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "http/server_int.h"
#include "http/ui.h"
#include "store/store.h"
#include "wire/problem.h"

extern const unsigned char openapi_yaml[];
extern const size_t openapi_yaml_len;

/* ---- responses ------------------------------------------------------------ */

/* Decides, once, whether this request meets a draining daemon (see req.drained). */
int resp_draining(req *r)
{
	if (r->drained < 0)
		r->drained = atomic_load(&r->srv->draining);
	return r->drained;
}

/*
 * Every answer leaves through here: the CORS headers when the request's
 * Origin is allowed, Connection: close once the daemon drains, then
 * MHD_queue_response. resp is destroyed (MHD keeps its own reference).
 */
enum MHD_Result resp_queue(req *r, int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	/* Draining: whatever the answer, the connection ends with it (see the design note on shutdown). */
	if (resp_draining(r))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (cors_varies(r->srv->cors))
		MHD_add_response_header(resp, "Vary", "Origin");
	if (r->allow_origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->allow_origin);
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	}
	r->status = status;
	ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Queues body (ownership taken: freed by MHD) with the common headers,
 * and the reply's ETag, Location and Retry-After when extra is not NULL.
 */
static enum MHD_Result resp_full(req *r, int status, buf *body, const char *type, const char *allow,
				    const char *retry_after, const svc_reply *extra)
{
	size_t len = 0;
	uint8_t *data = buf_detach(body, &len);
	struct MHD_Response *resp;
	char retry[16];

	resp = MHD_create_response_from_buffer_with_free_callback(len, data ? data : (uint8_t *)"",
								   data ? free : NULL);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (retry_after)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
	if (extra && extra->etag[0]) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, extra->etag);
		/* Revalidate on every poll: the ETag makes that nearly free. */
		MHD_del_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	}
	if (extra && extra->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, extra->location);
	if (extra && extra->map_min[0]) {
		MHD_add_response_header(resp, "X-Map-Min", extra->map_min);
		MHD_add_response_header(resp, "X-Map-Max", extra->map_max);
	}
	if (extra && extra->retry_after) {
		snprintf(retry, sizeof(retry), "%d", extra->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	r->bytes_out = len;
	return resp_queue(r, status, resp);
}

static enum MHD_Result resp_body(req *r, int status, buf *body, const char *type, const char *allow,
			       const char *retry_after)
{
	return resp_full(r, status, body, type, allow, retry_after, NULL);
}

static enum MHD_Result resp_headers(req *r, int status, buf *body, const char *type, const svc_reply *extra)
{
	return resp_full(r, status, body, type, NULL, NULL, extra);
}

/*
 * Keeps a problem's type and the start of its detail for the access log:
 * at most LOG_DETAIL_MAX bytes, cut between UTF-8 characters. Details
 * name what was wrong (a field, a value, a size), never a key or a body.
 */
static void note_problem(req *r, int status, const char *detail)
{
	size_t n = strlen(detail);

	r->problem = problem_type(status);
	if (n <= LOG_DETAIL_MAX) {
		memcpy(r->detail, detail, n + 1);
		return;
	}
	n = LOG_DETAIL_MAX;
	while (n > 0 && ((unsigned char)detail[n] & 0xc0) == 0x80)
		n--;
	memcpy(r->detail, detail, n);
	memcpy(r->detail + n, "...", 4);
}

enum MHD_Result resp_problem(req *r, int status, const char *detail, const char *allow,
				       const char *retry_after)
{
	buf b;

	note_problem(r, status, detail && *detail ? detail : problem_reason(status));
	buf_init(&b, 0);
	if (problem_json(status, detail, r->request_id, &b) != SEG_OK)
		return MHD_NO;
	return resp_body(r, status, &b, "application/problem+json", allow, retry_after);
}

/*
 * 401 with a bearer challenge (RFC 6750 §3): error="invalid_token" only
 * when a bearer token was presented and is wrong; a request without one,
 * or with another scheme, is told that a key is needed.
 */
enum MHD_Result resp_unauthorized(req *r)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	int given = h && strncasecmp(h, "Bearer ", 7) == 0 && h[7 + strspn(h + 7, " ")] != '\0';
	const char *detail = given ? "the bearer token is not a valid API key"
				   : "an API key is required: send Authorization: Bearer <key>";
	buf b;
	struct MHD_Response *resp;
	size_t len;
	uint8_t *data;

	note_problem(r, 401, detail);
	buf_init(&b, 0);
	if (problem_json(401, detail, r->request_id, &b) != SEG_OK)
		return MHD_NO;
	data = buf_detach(&b, &len);
	resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				given ? "Bearer realm=\"segloss\", error=\"invalid_token\"" : "Bearer realm=\"segloss\"");
	r->bytes_out = len;
	return resp_queue(r, 401, resp);
}

/*
 * A CORS preflight (OPTIONS with Access-Control-Request-Method), answered
 * before any key check: 204 with what the path allows when the Origin is
 * allowed, 403 naming the setting when it is not, 404 for unknown paths.
 */
enum MHD_Result resp_preflight(req *r)
{
	char allow[64], detail[400];
	struct MHD_Response *resp;

	rt_allowed(r->path, allow, sizeof(allow));
	if (allow[0] == '\0') {
		snprintf(detail, sizeof(detail), "no route for '%.256s'", r->path);
		return resp_problem(r, 404, detail, NULL, NULL);
	}
	if (r->allow_origin == NULL) {
		const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
		snprintf(detail, sizeof(detail),
			 "origin '%.200s' may not call this API from a browser: it is not in SEGLOSS_CORS_ORIGINS",
			 origin ? origin : "(none)");
		return resp_problem(r, 403, detail, NULL, NULL);
	}
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow);
	MHD_add_response_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	MHD_add_response_header(resp, "Access-Control-Max-Age", CORS_MAX_AGE);
	r->bytes_out = 0;
	return resp_queue(r, 204, resp);
}

static enum MHD_Result resp_text(req *r, int status, const char *type, const void *data, size_t len)
{
	buf b;

	buf_init(&b, 0);
	if (buf_append(&b, data, len) != SEG_OK) {
		buf_release(&b);
		return resp_problem(r, 503, "out of memory", NULL, "1");
	}
	return resp_body(r, status, &b, type, NULL, NULL);
}

/*
 * GET /readyz when ready: the store's state in the body. A store that
 * cannot be reached does not make the daemon unready: every replica
 * shares it, so failing readiness would take them all out of the Service
 * at once, while evaluations without a run still work and the rest get
 * 503 with Retry-After.
 */
static enum MHD_Result resp_ready(req *r)
{
	http_server *s = r->srv;
	cJSON *o = cJSON_CreateObject();
	char *text;
	enum MHD_Result ret;

	cJSON_AddStringToObject(o, "status", "ready");
	if (s->svc.store) {
		store_health h;
		store_health_of(s->svc.store, &h);
		cJSON_AddStringToObject(o, "store", h.up ? "up" : "down");
		cJSON_AddStringToObject(o, "store_backend", store_backend(s->svc.store));
		if (!h.up)
			cJSON_AddStringToObject(o, "store_detail", h.detail);
	} else {
		cJSON_AddStringToObject(o, "store", "none");
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return resp_problem(r, 503, "out of memory", NULL, "1");
	ret = resp_text(r, 200, "application/json", text, strlen(text));
	cJSON_free(text);
	return ret;
}

/* The web page's files (http/ui.c), unless the daemon was started with --ui off. */
static enum MHD_Result serve_ui(req *r)
{
	const ui_asset *a = r->srv->cfg.ui ? ui_find(r->path) : NULL;
	struct MHD_Response *resp;
	char detail[320];
	int status;

	if (a == NULL) {
		snprintf(detail, sizeof(detail), "no route for '%.200s'%s", r->path,
			 r->srv->cfg.ui ? "" : " (the web page is off: --ui off)");
		return resp_problem(r, 404, detail, NULL, NULL);
	}
	resp = ui_response(a, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING),
			   MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
			   &status, &r->bytes_out);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	return resp_queue(r, status, resp);
}

/* GET routes, answered on the polling thread. */
enum MHD_Result resp_direct(req *r)
{
	http_server *s = r->srv;

	switch (r->route->id) {
	case R_HEALTHZ:
		return resp_text(r, 200, "application/json", "{\"status\":\"ok\"}", 15);
	case R_READYZ:
		if (resp_draining(r))
			return resp_problem(r, 503, "draining: shutting down", NULL, "1");
		if (!pool_has_room(s->pool))
			return resp_problem(r, 503, "the work queue is full", NULL, "1");
		return resp_ready(r);
	case R_LOSSES:
		return resp_text(r, 200, "application/json", s->catalogue, s->catalogue_len);
	case R_PROFILES:
		return resp_text(r, 200, "application/json", s->profiles, s->profiles_len);
	case R_OPENAPI:
		return resp_text(r, 200, "application/yaml", openapi_yaml, openapi_yaml_len);
	case R_METRICS: {
		metrics_gauges g = {0};
		buf b;
		pool_stats(s->pool, &g.queue_depth, &g.workers_busy, &g.workers, &g.queue_capacity);
		g.inflight = atomic_load(&s->inflight);
		g.draining = resp_draining(r);
		if (s->svc.store) {
			/* Sampled by the store (PostgreSQL: every few seconds): /metrics never waits on a database. */
			store_health h;
			store_health_of(s->svc.store, &h);
			g.has_store = 1;
			g.store_ok = h.jobs_known;
			memcpy(g.jobs, h.jobs, sizeof(g.jobs));
			g.db_bytes = h.size_bytes;
			g.store_write_errors = h.write_errors;
			g.store_backend = store_backend(s->svc.store);
			g.store_up = h.up;
			g.store_errors = h.errors;
			g.store_reconnects = h.reconnects;
		}
		buf_init(&b, 0);
		if (metrics_render(s->metrics, &g, &b) != SEG_OK) {
			buf_release(&b);
			return resp_problem(r, 503, "out of memory", NULL, "1");
		}
		return resp_body(r, 200, &b, "text/plain; version=0.0.4; charset=utf-8", NULL, NULL);
	}
	case R_UI:
		return serve_ui(r);
	default:
		return resp_problem(r, 500, "route without a handler", NULL, NULL);
	}
}

enum MHD_Result resp_worker(req *r)
{
	char retry[16];
	struct MHD_Response *resp;

	if (r->st != SEG_OK) {
		int status = problem_status_of(r->st);
		return resp_problem(r, status, r->err.msg, NULL, status == 503 ? "1" : NULL);
	}
	if (r->reply.status != 204 && r->reply.status != 304)
		return resp_headers(r, r->reply.status, &r->reply.body, r->reply.content_type, &r->reply);
	/* No body: 204 after a delete, 304 for a fresh ETag. */
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (r->reply.etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->reply.etag);
	if (r->reply.retry_after) {
		snprintf(retry, sizeof(retry), "%d", r->reply.retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	r->bytes_out = 0;
	return resp_queue(r, r->reply.status, resp);
}
