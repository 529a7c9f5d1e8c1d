/*
 * server_int.h — the state server.c (connections, the worker hand-off,
 * the lifecycle) shares with respond.c (every answer and how it leaves).
 * Not for other modules: they use http.h.
 */
#ifndef SERVER_INT_H
#define SERVER_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "http/auth.h"
#include "http/bodyenc.h"
#include "http/cors.h"
#include "http/http.h"
#include "http/metrics.h"
#include "http/routes.h"
#include "pool/par.h"
#include "pool/pool.h"
#include "service/jobs.h"
#include "service/service.h"

#define LOG_DETAIL_MAX 120 /* bytes of a problem's detail in its access-log line */

struct http_server {
	http_config cfg;
	struct MHD_Daemon *mhd;
	pool *pool;
	svc_ctx svc;
	par_exec *par;
	seg_par par_handle;
	jobs *jobs;
	auth *auth; /* NULL: no API keys, /v1 is open */
	cors *cors; /* NULL: no CORS headers, browsers keep other origins out */
	metrics *metrics;
	int port;
	int listen_fd; /* -1, or the quiesced listener: closed only after MHD_stop_daemon */
	char *catalogue; /* GET /v1/losses body, built once */
	size_t catalogue_len;
	char *profiles; /* GET /v1/profiles body, built once */
	size_t profiles_len;
	atomic_int draining;
	atomic_int inflight;
	atomic_ullong next_id;
	uint64_t id_seed;
	pthread_mutex_t lock; /* with idle: http_drain waits for inflight to reach 0 */
	pthread_cond_t idle;
};

enum { ST_RECEIVING, ST_WORKING, ST_DONE };

typedef struct req {
	http_server *srv;
	struct MHD_Connection *conn;
	const route *route;  /* NULL: no route for this path and method */
	route_id metric_id;  /* label for metrics */
	char method[8];
	char path[256];
	char params[2][RT_PARAM_MAX];
	char request_id[72];
	const char *allow_origin; /* Access-Control-Allow-Origin, or NULL; borrows from srv->cors or MHD */
	int preflight;            /* a CORS preflight, answered by resp_preflight */
	char content_type[256];
	char accept[256];
	char if_none_match[1024];
	char idempotency_key[300]; /* longer than any valid key, so an over-long one stays over-long */
	char query[6][160]; /* after, limit, order_by (per_class.METRIC.CLASS: up to 137 bytes), order, status, percentiles */
	int has_query[6];
	double t_start;
	double t_received;
	size_t bytes_in;
	size_t announced; /* Content-Length, once checked against the cap: the body's buffer is sized to it */
	bodyenc encoding; /* Content-Encoding: the worker inflates the body before the handler sees it */
	buf body;
	int reject;           /* status to answer once the body is consumed (413) */
	seg_error reject_err;
	atomic_int state;
	/*
	 * -1 until the answer is decided; then whether the daemon was draining
	 * when it was. The Connection: close of resp_queue follows the same read,
	 * so "ready" is never answered with a close and a 503 never without.
	 */
	int drained;
	/* Written by the worker before state becomes ST_DONE. */
	seg_status st;
	seg_error err;
	svc_reply reply;
	svc_timing timing;
	/* The answer, for the access log. */
	int status;
	size_t bytes_out;
	const char *problem;           /* a problem's type (static), NULL for other answers */
	char detail[LOG_DETAIL_MAX + 4]; /* the start of its detail, "..." when cut */
} req;

/* ---- respond.c: every answer leaves through these, on MHD's thread ---- */

/* Decides, once, whether r meets a draining daemon (see req.drained); 1 when it does. */
int resp_draining(req *r);

/*
 * Queues resp (destroyed: MHD keeps its own reference) with the CORS
 * headers and, while draining, Connection: close.
 */
enum MHD_Result resp_queue(req *r, int status, struct MHD_Response *resp);

/* A problem+json answer; detail, allow and retry_after borrowed (allow, retry_after may be NULL). */
enum MHD_Result resp_problem(req *r, int status, const char *detail, const char *allow, const char *retry_after);

/* 401 with its bearer challenge. */
enum MHD_Result resp_unauthorized(req *r);

/* The answer to a CORS preflight. */
enum MHD_Result resp_preflight(req *r);

/* A route without a handler (probes, catalogue, metrics, the page), answered on MHD's thread. */
enum MHD_Result resp_direct(req *r);

/* The answer a worker wrote into r (r->st, r->reply). */
enum MHD_Result resp_worker(req *r);

#endif
