/*
 * server.c — libmicrohttpd glue: bodies, suspend/resume, access logs
 * and metrics, start and drain. Which route a request takes is
 * routes.c's; how each answer is made and leaves is respond.c's.
 *
 * Threading. One MHD polling thread (epoll where available) runs every
 * callback below. A request's context (struct req) is created on the
 * first call of the access handler, fed the body on the next calls
 * (capped: Content-Length is checked before the first byte is read, and
 * the buffer never grows past max_body), and freed in on_completed.
 * Routes that compute are handed to the pool: the context moves to a
 * worker, the connection is suspended, the worker writes the reply into
 * the context, publishes it (release store of `state`) and resumes the
 * connection; MHD then calls the access handler again on its own thread,
 * which queues the response. Responses are never queued from a worker.
 *
 * Shutdown (http_drain). Readiness fails first, MHD stops accepting
 * (MHD_quiesce_daemon), and the caller waits until every received
 * request has completed. From the moment draining starts, every answer,
 * whatever path it leaves by (resp_queue), carries Connection: close and
 * ends its connection, as nginx and Go's http.Server end the connections they
 * answer on when shutting down. Unlike them, a keep-alive connection
 * that is idle when the signal comes is not cut at once (a request
 * already on its way would meet a closed socket): it is kept, its next
 * request is answered (503 for work, the probes as usual) and then it is
 * closed, so a client's pooled connections each end after an answer.
 * Whether a request meets a draining daemon is read once, when its
 * answer is decided (req.drained), and the Connection header follows
 * that read: a /readyz answered "ready" an instant before the signal
 * keeps its connection (a client would otherwise reuse a socket the
 * server is closing), and one answered 503 closes it.
 * Idle connections are not counted as work: those still idle when the
 * last request is answered are closed by MHD_stop_daemon. MHD must not
 * be stopped while a connection is suspended, so the pool is
 * drained (every job finishes and resumes its connection) before
 * MHD_stop_daemon in http_free, which then gives the resumed connections
 * a moment (CLOSE_GRACE_S) to send their answers.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "codec/buf.h"
#include "core/spec.h"
#include "http/auth.h"
#include "http/bodyenc.h"
#include "http/cors.h"
#include "http/metrics.h"
#include "http/routes.h"
#include "http/server_int.h"
#include "http/ui.h"
#include "wire/problem.h"
#include "log/log.h"
#include "pool/par.h"
#include "pool/pool.h"
#include "service/jobs.h"
#include "service/service.h"
#include "store/store.h"
#include "wire/wire.h"

#define CLOSE_GRACE_S 5.0 /* http_free: how long answers already computed may take to leave */
#define CONN_MEMORY ((size_t)256 << 10) /* MHD's memory per connection: its read buffer grows within it */
#define CONN_INCREMENT ((size_t)64 << 10) /* how much the read buffer grows by */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void http_config_default(http_config *cfg)
{
	*cfg = (http_config){0};
	cfg->bind = "0.0.0.0";
	cfg->port = 8080;
	cfg->workers = par_cpus();
	cfg->queue = 64;
	cfg->max_body = (size_t)64 << 20;
	cfg->max_pixels = (uint64_t)64 << 20;
	cfg->max_classes = 1024;
	cfg->timeout = 30;
	cfg->max_conns = 1000;
	cfg->max_conns_per_ip = 100;
	cfg->db = "./data/segloss.db";
	cfg->job_ttl_ms = 24LL * 3600 * 1000;
	cfg->ui = 1;
	cfg->keep_masks_item = (uint64_t)16 << 20;
	cfg->keep_masks_run = (uint64_t)1 << 30;
	/* No API keys, no CORS: left NULL by the zeroing above. */
}

/* A client's X-Request-Id is kept when it is 1..64 characters of [A-Za-z0-9._:-]; else a new one. */
static void set_request_id(http_server *s, req *r, const char *given)
{
	size_t n = given ? strlen(given) : 0;
	int ok = n > 0 && n <= 64;

	for (size_t i = 0; ok && i < n; i++) {
		char c = given[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		     c == '_' || c == ':' || c == '-';
	}
	if (ok) {
		memcpy(r->request_id, given, n + 1);
		return;
	}
	uint64_t k = atomic_fetch_add(&s->next_id, 1) + s->id_seed;
	/* splitmix64 of a counter: unique per process, unpredictable across restarts. */
	k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
	k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
	k ^= k >> 31;
	snprintf(r->request_id, sizeof(r->request_id), "%016llx", (unsigned long long)k);
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t cap)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, cap, "%s", v ? v : "");
}

/* Query parameters a route does not read, gathered by MHD_get_connection_values. */
typedef struct unknown_args {
	const char *const *known;
	char names[200]; /* 'a', 'b' */
	int count;
	const char *first;
} unknown_args;

static enum MHD_Result on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	unknown_args *u = cls;
	size_t n = strlen(u->names);
	int i;

	(void)kind;
	(void)value;
	for (i = 0; u->known && u->known[i] && strcmp(u->known[i], key) != 0; i++)
		;
	if (u->known && u->known[i])
		return MHD_YES;
	if (u->count++ == 0)
		u->first = key;
	if (n + strlen(key) + 5 < sizeof(u->names))
		snprintf(u->names + n, sizeof(u->names) - n, "%s'%s'", n ? ", " : "", key);
	return MHD_YES;
}

/*
 * A /v1 route refuses query parameters it does not read (a misspelt
 * "limt" or a "sort" that does nothing would otherwise be ignored
 * silently): 0 when there are none, else the 422 detail in out.
 */
static int unknown_query(req *r, char *out, size_t cap)
{
	unknown_args u = {r->route->query, "", 0, NULL};
	char takes[96] = "", hint[64] = "";
	const char *best = NULL;
	int best_d = 3;

	if (strncmp(r->path, "/v1/", 4) != 0)
		return 0;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, on_query_arg, &u);
	if (u.count == 0)
		return 0;
	for (int i = 0; u.known && u.known[i]; i++) {
		size_t n = strlen(takes);
		int d = spec_edit_distance(u.first, u.known[i]);
		snprintf(takes + n, sizeof(takes) - n, "%s%s", n ? ", " : "", u.known[i]);
		if (d < best_d) {
			best_d = d;
			best = u.known[i];
		}
	}
	if (best && u.count == 1)
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", best);
	snprintf(out, cap, "unknown query parameter%s %s%s: %s %.150s takes %s", u.count > 1 ? "s" : "", u.names, hint,
		 r->method, r->path, takes[0] ? takes : "none");
	return 1;
}

/* svc_ctx.alone: this request is the only one a worker holds, and none waits. */
static int pool_alone(void *arg)
{
	int queued, busy, workers, capacity;

	pool_stats(arg, &queued, &busy, &workers, &capacity);
	return busy <= 1 && queued == 0;
}

/* ---- the worker side ------------------------------------------------------- */

static void work(void *arg)
{
	req *r = arg;
	http_server *s = r->srv;
	double t0 = now_mono();
	svc_request rq = {
		.param = {r->params[0], r->params[1]},
		.content_type = r->content_type,
		.accept = r->accept,
		.if_none_match = r->if_none_match[0] ? r->if_none_match : NULL,
		.idempotency_key = r->idempotency_key[0] ? r->idempotency_key : NULL,
		.request_id = r->request_id,
		.after = r->has_query[0] ? r->query[0] : NULL,
		.limit = r->has_query[1] ? r->query[1] : NULL,
		.order_by = r->has_query[2] ? r->query[2] : NULL,
		.order = r->has_query[3] ? r->query[3] : NULL,
		.status = r->has_query[4] ? r->query[4] : NULL,
		.percentiles = r->has_query[5] ? r->query[5] : NULL,
		.body = r->body.data,
		.body_len = r->body.len,
		.body_rw = r->body.data, /* freed after the handler: it may decode masks in place */
	};

	r->timing.receive = r->t_received - r->t_start;
	if (r->encoding != BODYENC_IDENTITY) {
		/* Inflated here, off the event loop, and never past the body cap (a bomb is a 413). */
		buf plain;
		buf_init(&plain, 0);
		r->st = bodyenc_decode(r->encoding, r->body.data, r->body.len, s->cfg.max_body, &plain, &r->err);
		buf_release(&r->body);
		r->body = plain;
		rq.body = rq.body_rw = r->body.data;
		rq.body_len = r->body.len;
		r->timing.receive += now_mono() - t0;
	}
	if (r->st == SEG_OK)
		r->st = r->route->handler(&s->svc, &rq, &r->reply, &r->timing, &r->err);
	buf_release(&r->body); /* the reply no longer needs the upload */
	metrics_compute(s->metrics, now_mono() - t0);
	if (r->st != SEG_OK)
		metrics_decode_error(s->metrics, svc_decode_error_kind(&r->err));
	atomic_store_explicit(&r->state, ST_DONE, memory_order_release);
	MHD_resume_connection(r->conn);
}

/* ---- MHD callbacks ----------------------------------------------------------- */

static req *req_new(http_server *s, struct MHD_Connection *conn, const char *url, const char *method)
{
	req *r = calloc(1, sizeof(*r));
	int path_known;

	if (r == NULL)
		return NULL;
	r->srv = s;
	r->conn = conn;
	r->drained = -1;
	r->t_start = now_mono();
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", url);
	r->route = rt_find(method, url, r->params, &path_known);
	r->metric_id = r->route ? r->route->id : R_NOT_FOUND;
	set_request_id(s, r, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id"));
	r->allow_origin = cors_allow(s->cors, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"));
	copy_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type, sizeof(r->content_type));
	copy_header(conn, MHD_HTTP_HEADER_ACCEPT, r->accept, sizeof(r->accept));
	copy_header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH, r->if_none_match, sizeof(r->if_none_match));
	copy_header(conn, "Idempotency-Key", r->idempotency_key, sizeof(r->idempotency_key));
	static const char *const args[6] = {"after", "limit", "order_by", "order", "status", "percentiles"};
	for (int i = 0; i < 6; i++) {
		const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, args[i]);
		if (v) {
			snprintf(r->query[i], sizeof(r->query[i]), "%s", v);
			r->has_query[i] = 1;
		}
	}
	buf_init(&r->body, s->cfg.max_body);
	atomic_init(&r->state, ST_RECEIVING);
	return r;
}

/*
 * Before any body byte: refuse an announced body over the cap, and a body
 * without Content-Length (chunked): libmicrohttpd 0.9 cannot answer in
 * the middle of an upload, so an unannounced body over the cap could only
 * be read to its end or cut off without an answer. 411 says which. A
 * request with neither Content-Length nor Transfer-Encoding has no body
 * at all (RFC 9112 §6.3, what `curl -X POST` sends): it is let through
 * and refused as empty once complete.
 */
static void check_length(req *r)
{
	const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long n;
	char *end = NULL;

	if (!rt_takes_body(r->route))
		return;
	if (cl == NULL && te == NULL)
		return;
	if (cl == NULL) {
		r->reject = 411;
		seg_fail(&r->reject_err, SEG_EINVAL,
			 "send the body with a Content-Length (chunked uploads are not accepted)");
		return;
	}
	n = strtoull(cl, &end, 10);
	if (end != cl && n > r->srv->cfg.max_body) {
		r->reject = 413;
		seg_fail(&r->reject_err, SEG_ETOOBIG, "request body of %llu bytes is over the limit of %zu bytes", n,
			 r->srv->cfg.max_body);
	} else if (end != cl) {
		r->announced = (size_t)n;
	}
}

/* Before any body byte: a Content-Encoding other than gzip, zstd or identity is a 415 naming it. */
static void check_encoding(req *r)
{
	if (!rt_takes_body(r->route))
		return;
	if (bodyenc_parse(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING),
			  &r->encoding, &r->reject_err) != SEG_OK)
		r->reject = 415;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	http_server *s = cls;
	req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		r = req_new(s, conn, url, method);
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		atomic_fetch_add(&s->inflight, 1);
		/* A CORS preflight carries no credentials: it is answered once its (empty) body is read. */
		if (s->cors && strcmp(method, "OPTIONS") == 0 &&
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Method") != NULL) {
			r->preflight = 1;
			return MHD_YES;
		}
		/* API keys guard /v1; health, readiness and metrics stay open. */
		if (s->auth && strncmp(url, "/v1/", 4) == 0 &&
		    !auth_check(s->auth, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
			r->reject = 401;
			return resp_unauthorized(r);
		}
		check_length(r);
		if (r->reject == 0)
			check_encoding(r);
		if (r->reject) /* answered before reading: MHD then closes the connection */
			return resp_problem(r, r->reject, r->reject_err.msg, NULL, NULL);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		r->bytes_in += *upload_data_size;
		/* One buffer of the announced size (within the cap, checked): no copies while it grows. */
		if (r->body.cap == 0 && r->announced > 0 && r->reject == 0 && rt_takes_body(r->route))
			buf_reserve(&r->body, r->announced);
		if (r->reject == 0 && rt_takes_body(r->route) &&
		    buf_append(&r->body, upload_data, *upload_data_size) != SEG_OK) {
			r->reject = 413;
			seg_fail(&r->reject_err, SEG_ETOOBIG, "request body is over the limit of %zu bytes",
				 s->cfg.max_body);
			buf_release(&r->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->status != 0) /* already answered (early 413) */
		return MHD_YES;
	if (atomic_load_explicit(&r->state, memory_order_acquire) == ST_DONE)
		return resp_worker(r);

	/* The whole request is here. */
	r->t_received = now_mono();
	if (r->preflight)
		return resp_preflight(r);
	if (r->reject)
		return resp_problem(r, r->reject, r->reject_err.msg, NULL, NULL);
	if (r->route == NULL) {
		int known;
		char allow[64];
		char scratch[2][RT_PARAM_MAX];
		rt_find(method, url, scratch, &known);
		if (!known) {
			char detail[320];
			snprintf(detail, sizeof(detail), "no route for '%.256s'", url);
			return resp_problem(r, 404, detail, NULL, NULL);
		}
		rt_allowed(url, allow, sizeof(allow));
		char detail[320];
		snprintf(detail, sizeof(detail), "%s is not allowed on '%.200s' (allowed: %s)", method, url, allow);
		return resp_problem(r, 405, detail, allow, NULL);
	}
	{
		char detail[512];
		if (unknown_query(r, detail, sizeof(detail)))
			return resp_problem(r, 422, detail, NULL, NULL);
	}
	if (rt_takes_body(r->route) && r->bytes_in == 0) {
		char detail[160];
		snprintf(detail, sizeof(detail),
			 "empty body: %s %s needs a JSON (application/json) or multipart/form-data body", method,
			 r->route->pattern);
		return resp_problem(r, 400, detail, NULL, NULL);
	}
	if (r->route->id == R_WEIGHT_MAP && svc_negotiate_wmap(r->accept) == NULL) {
		char detail[400];
		snprintf(detail, sizeof(detail), "cannot answer in any type of Accept '%.200s': %s %s answers %s", r->accept,
			 method, r->route->pattern, SVC_WMAP_TYPES);
		return resp_problem(r, 406, detail, NULL, NULL);
	}
	if (r->route->handler == NULL)
		return resp_direct(r);
	if (resp_draining(r))
		return resp_problem(r, 503, "draining: shutting down", NULL, "1");
	r->drained = -1; /* decided again when the work is answered */
	atomic_store(&r->state, ST_WORKING);
	MHD_suspend_connection(conn);
	if (pool_submit(s->pool, work, r) != SEG_OK) {
		MHD_resume_connection(conn);
		atomic_store(&r->state, ST_RECEIVING);
		return resp_problem(r, 503, "the work queue is full; retry shortly", NULL, "1");
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	http_server *s = cls;
	req *r = *con_cls;
	char status[16], bytes[32], dur[32], in[32];
	double seconds;

	(void)conn;
	if (r == NULL)
		return;
	seconds = now_mono() - r->t_start;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		snprintf(status, sizeof(status), "%d", r->status);
	else
		snprintf(status, sizeof(status), "%s", toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
						      : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT   ? "aborted"
						      : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
												      : "error");
	snprintf(bytes, sizeof(bytes), "%zu", r->bytes_out);
	snprintf(in, sizeof(in), "%zu", r->bytes_in);
	snprintf(dur, sizeof(dur), "%.3f", seconds * 1e3);
	/* An error's line says why: its problem type and the start of its detail. */
	const char *kv[] = {"method", r->method, "path", r->path, "status", status, "bytes", bytes,
			    "bytes_in", in, "duration_ms", dur, "request_id", r->request_id,
			    "problem", r->problem, "detail", r->problem ? r->detail : NULL};
	log_line("info", "request", kv, 9);
	metrics_request(s->metrics, r->metric_id, r->status, seconds, r->bytes_in);

	buf_release(&r->body);
	buf_release(&r->reply.body);
	free(r);
	*con_cls = NULL;
	pthread_mutex_lock(&s->lock);
	if (atomic_fetch_sub(&s->inflight, 1) == 1)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	const char *kv[] = {"source", "libmicrohttpd"};
	log_line("warn", msg, kv, 1);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void on_job_waited(void *arg, double seconds)
{
	metrics_job_wait(arg, seconds);
}

static void on_job_ran(void *arg, double seconds)
{
	metrics_job_run(arg, seconds);
}

static seg_status build_catalogue(http_server *s, seg_error *err)
{
	cJSON *cat = wire_catalogue();

	if (cat == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory building the catalogue");
	s->catalogue = cJSON_PrintUnformatted(cat);
	cJSON_Delete(cat);
	if (s->catalogue == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory building the catalogue");
	s->catalogue_len = strlen(s->catalogue);
	cat = wire_profiles();
	if (cat == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory building the profiles");
	s->profiles = cJSON_PrintUnformatted(cat);
	cJSON_Delete(cat);
	if (s->profiles == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory building the profiles");
	s->profiles_len = strlen(s->profiles);
	return SEG_OK;
}

http_server *http_start(const http_config *cfg, seg_error *err)
{
	http_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
			     MHD_USE_ERROR_LOG;

	if (s == NULL) {
		seg_fail(err, SEG_ENOMEM, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->cfg.bind = NULL; /* borrowed only for this call */
	s->listen_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (getrandom(&s->id_seed, sizeof(s->id_seed), 0) != sizeof(s->id_seed))
		s->id_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	memset(&addr, 0, sizeof(addr));
	if (strchr(cfg->bind, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET6, cfg->bind, &a6->sin6_addr) != 1)
			goto bad_bind;
		addrlen = sizeof(*a6);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET, cfg->bind, &a4->sin_addr) != 1)
			goto bad_bind;
		addrlen = sizeof(*a4);
	}
	(void)addrlen;
	s->metrics = metrics_new(rt_names, R_COUNT);
	s->pool = pool_new(cfg->workers, cfg->queue, err);
	if (s->metrics == NULL || s->pool == NULL || build_catalogue(s, err) != SEG_OK) {
		if (s->metrics == NULL)
			seg_fail(err, SEG_ENOMEM, "out of memory");
		goto fail;
	}
	s->svc.lim.max_pixels = cfg->max_pixels;
	s->svc.lim.max_classes = cfg->max_classes;
	s->svc.lim.keep_masks_item = cfg->keep_masks_item;
	s->svc.lim.keep_masks_run = cfg->keep_masks_run;
	/* Helpers for parallel loops: with the requesting worker, one lane per usable CPU. */
	int cpus = par_cpus();
	s->par = par_new(cpus > 1 ? cpus - 1 : 0, err);
	if (s->par == NULL)
		goto fail;
	s->par_handle = par_handle(s->par);
	s->svc.par = &s->par_handle;
	/* While other requests keep the workers busy, the lanes are taken: loops run in their own worker. */
	par_gate(s->par, pool_alone, s->pool);
	if (auth_new(cfg->api_keys_file, cfg->api_key, &s->auth, err) != SEG_OK)
		goto fail;
	if (cors_new(cfg->cors_origins, &s->cors, err) != SEG_OK)
		goto fail;
	if (cfg->db && cfg->db[0]) {
		jobs_hooks hooks = {on_job_waited, on_job_ran, s->metrics};
		/* A PostgreSQL connection for each worker and one for the job runner. */
		store_config sc = {cfg->db, (cfg->workers > 0 ? cfg->workers : 1) + 1, cfg->job_lease_ms,
				   cfg->db_password_file, cfg->db_sync_full};
		s->svc.store = store_open_config(&sc, err);
		if (s->svc.store == NULL)
			goto fail;
		store_health h;
		store_health_of(s->svc.store, &h);
		if (!h.up)
			log_msg("warn", "store: %s cannot be reached yet (%s); runs and jobs answer 503 until it can",
				store_backend(s->svc.store), h.detail);
		s->jobs = jobs_start(&s->svc, cfg->job_ttl_ms, &hooks, err);
		if (s->jobs == NULL)
			goto fail;
		s->svc.job_queued = jobs_notify;
		s->svc.job_queued_arg = s->jobs;
	}

	struct MHD_OptionItem opts[10];
	int k = 0;
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->timeout, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
	/*
	 * A connection's buffer, from which uploads are read: 256 KiB rather
	 * than MHD's 32 KiB, so a 512x512 request arrives in a few reads and
	 * callbacks, not dozens. Pages are touched only as a body needs them.
	 */
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)CONN_MEMORY, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (intptr_t)CONN_INCREMENT, NULL};
	if (cfg->max_conns)
		opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_conns, NULL};
	if (cfg->max_conns_per_ip)
		opts[k++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
						    (intptr_t)cfg->max_conns_per_ip, NULL};
	opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	s->mhd = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (s->mhd == NULL) {
		seg_fail(err, SEG_EIO, "cannot listen on %s port %d (in use, or not permitted?)", cfg->bind, cfg->port);
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	return s;
bad_bind:
	seg_fail(err, SEG_EINVAL, "bind address '%s' is not an IPv4 or IPv6 address", cfg->bind);
fail:
	http_free(s);
	return NULL;
}

int http_reload_keys(http_server *s, seg_error *err)
{
	if (s->auth == NULL) {
		seg_fail(err, SEG_EINVAL, "no API keys file was configured at start");
		return -1;
	}
	if (auth_reload(s->auth, err) != SEG_OK)
		return -1;
	return (int)auth_count(s->auth);
}

int http_port(const http_server *s)
{
	return s->port;
}

/* A request that was still waiting for a worker at the drain deadline: 503, handed back to MHD. */
static void cancel_work(void *arg)
{
	req *r = arg;

	buf_release(&r->body);
	r->st = seg_fail(&r->err, SEG_EBUSY, "shutting down: the request was not started before the drain deadline");
	atomic_store_explicit(&r->state, ST_DONE, memory_order_release);
	MHD_resume_connection(r->conn);
}

/* Waits up to timeout seconds for every request to be answered; returns how many are left. */
static int wait_idle(http_server *s, double timeout)
{
	struct timespec deadline;
	int left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (atomic_load(&s->inflight) > 0)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &deadline) != 0)
			break;
	left = atomic_load(&s->inflight);
	pthread_mutex_unlock(&s->lock);
	return left;
}

int http_drain(http_server *s, double delay, double timeout)
{
	int left;

	atomic_store(&s->draining, 1);
	if (delay > 0) {
		struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	if (s->mhd && s->listen_fd < 0) {
		/*
		 * MHD's own thread may still touch the quiesced listener (it
		 * takes it out of its epoll set), so it is closed only after
		 * MHD_stop_daemon (microhttpd.h, MHD_quiesce_daemon). shutdown()
		 * stops the listening now: new connections are refused.
		 */
		MHD_socket fd = MHD_quiesce_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET) {
			shutdown(fd, SHUT_RDWR);
			s->listen_fd = fd;
		}
	}
	left = wait_idle(s, timeout);
	if (left > 0 && s->pool) {
		int n = pool_cancel_queued(s->pool, cancel_work);
		if (n > 0)
			log_msg("warn", "drain deadline: %d requests not yet started were answered 503", n);
	}
	return left;
}

void http_free(http_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->draining, 1);
	/* Every worker task finishes and resumes its connection before MHD stops. */
	pool_free(s->pool);
	s->pool = NULL;
	/*
	 * A resumed connection (work finished, or cancelled at the drain
	 * deadline) has its answer queued by MHD's thread a moment later:
	 * stopping MHD before that would close it unanswered. Wait for those
	 * answers, with a bound (an upload still trickling in counts too).
	 */
	if (s->mhd) {
		wait_idle(s, CLOSE_GRACE_S);
		MHD_stop_daemon(s->mhd);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	/* A job in progress goes back to the queue for the next start. */
	jobs_stop(s->jobs);
	par_free(s->par);
	store_close(s->svc.store);
	auth_free(s->auth);
	cors_free(s->cors);
	metrics_free(s->metrics);
	cJSON_free(s->catalogue);
	cJSON_free(s->profiles);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
