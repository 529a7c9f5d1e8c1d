/*
 * service.h — what each route does, free of HTTP: a request description
 * in, a status, headers and a body out. Runs on a worker thread;
 * everything it needs travels in its arguments.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/par.h"
#include "core/seg.h"
#include "core/wmap.h"
#include "store/store.h"

#include <cJSON.h>

typedef struct svc_limits {
	uint64_t max_pixels;
	int max_classes; /* cap on a request's "classes" (0: MCO_DEFAULT_MAX_CLASSES) */
	uint64_t keep_masks_item; /* keep_masks: bytes of one item's target and prediction */
	uint64_t keep_masks_run;  /* keep_masks: bytes of all the masks a run keeps */
} svc_limits;

/* Shared by every request: limits and the store (NULL: runs and jobs are unavailable). */
typedef struct svc_ctx {
	svc_limits lim;
	const seg_par *par; /* parallel loops for large distance transforms; may be NULL */
	store *store;
	void (*job_queued)(void *arg); /* wakes the job runner; may be NULL */
	void *job_queued_arg;
} svc_ctx;

/* Seconds per stage, for timing_ms in responses and the metrics. */
typedef struct svc_timing {
	double receive; /* set by the caller: first body byte to handover */
	double base64;  /* JSON or multipart parsing, base64 included */
	double decode;
	double compute;
	double encode;
	double store;
} svc_timing;

/* The parts of an HTTP request a handler reads; all borrowed. */
typedef struct svc_request {
	const char *param[2]; /* path parameters, e.g. {run} and {b}, or {id} */
	const char *content_type;
	const char *accept;
	const char *if_none_match;
	const char *idempotency_key;
	const char *request_id;
	const char *after, *limit, *order_by, *order, *status; /* query arguments, NULL when absent */
	const char *percentiles; /* GET /v1/runs/{run}: "false" leaves them out */
	const uint8_t *body;
	size_t body_len;
	uint8_t *body_rw; /* the same bytes when the handler may overwrite them (masks decoded in place), else NULL */
} svc_request;

typedef struct svc_reply {
	int status;               /* 200, 202, 204, 304 */
	buf body;                 /* owned; release with buf_release */
	const char *content_type; /* static string */
	char etag[64];            /* empty: none */
	char location[96];        /* empty: none */
	int retry_after;          /* seconds; 0: none */
	char map_min[32];         /* a heatmap's colour scale, for X-Map-Min and X-Map-Max; empty: none */
	char map_max[32];
} svc_reply;

/* Every handler: on SEG_OK, *out holds the answer; otherwise err holds the problem. */
typedef seg_status (*svc_handler)(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
				  seg_error *err);

seg_status svc_evaluate(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_weight_map(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			  seg_error *err);
seg_status svc_runs_list(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_run_get(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_run_items(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_run_compare(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			   seg_error *err);
seg_status svc_run_item_target(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			       seg_error *err);
seg_status svc_run_item_prediction(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
				   seg_error *err);
seg_status svc_run_item_options(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
				seg_error *err);
seg_status svc_run_delete(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_job_submit(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_jobs_list(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_job_get(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err);
seg_status svc_job_cancel(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			  seg_error *err);

/*
 * Runs a stored job's request (content_type and body borrowed): every
 * item is computed and, with a run, recorded (a single case without an
 * item name is recorded as job_id); progress(arg, done) is called after
 * each item and stops the job when it returns non-zero (canceled). On
 * SEG_OK *result receives the result JSON (caller frees with free()).
 */
seg_status svc_run_job(const svc_ctx *ctx, const char *job_id, const char *content_type, const uint8_t *body,
		       size_t len, int (*progress)(void *arg, int done), void *arg, char **result, int *canceled,
		       seg_error *err);

struct req_eval;
struct req_wmap;

/*
 * Evaluates a request built without HTTP (the command line): *obj (caller
 * frees with cJSON_Delete) is what /v1/evaluate would answer, without
 * "maps" and timings. rq borrowed; nothing is recorded.
 */
seg_status svc_eval_one(const svc_ctx *ctx, const struct req_eval *rq, cJSON **obj, seg_error *err);

/*
 * The weight map of a parsed request: *w (caller frees with free()) holds
 * width*height weights; with classes the instances are each class's
 * connected components and w_c is balanced over the classes. t receives
 * decode and compute times.
 */
seg_status svc_wmap_compute(const svc_ctx *ctx, const struct req_wmap *rq, float **w, int *width, int *height,
			    wmap_info *info, svc_timing *t, seg_error *err);

/* The media types svc_weight_map can answer in, for a 406's detail. */
#define SVC_WMAP_TYPES "application/json, application/x-npy, image/png"

/*
 * The media type svc_weight_map answers for an Accept header (static
 * string): the offered type with the highest q-value (wildcards count for
 * slightly less, ties go to JSON); JSON without an Accept header. NULL
 * when Accept offers none of SVC_WMAP_TYPES a q-value above 0 (406).
 */
const char *svc_negotiate_wmap(const char *accept);

/* Which decoder an error came from, for metrics: "png", "npy", "base64", "json", "multipart" or NULL. */
const char *svc_decode_error_kind(const seg_error *err);

#endif
