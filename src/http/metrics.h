/*
 * metrics.h — the daemon's Prometheus metrics.
 *
 * Counters and histograms are plain atomics, updated from any thread
 * without locks; rendering reads them into the text exposition format.
 * Label values come from fixed sets (the route table, a list of status
 * codes, decode error kinds), so no client can grow the series.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "codec/buf.h"
#include "core/seg.h"

typedef struct metrics metrics;

/* Live values sampled at render time. */
typedef struct metrics_gauges {
	int queue_depth;
	int queue_capacity;
	int workers_busy;
	int workers;
	int inflight;
	int draining;
	int has_store;            /* the rest is read only when set */
	int store_ok;             /* the job counts below were read */
	int64_t jobs[5];          /* by status: queued, running, done, failed, canceled */
	int64_t db_bytes;
	uint64_t store_write_errors;
	const char *store_backend; /* "sqlite", "postgres" (static) */
	int store_up;
	uint64_t store_errors;
	uint64_t store_reconnects;
} metrics_gauges;

/*
 * A registry for routes named by route_names[0..nroutes) (borrowed;
 * must outlive the registry). Caller frees with metrics_free. NULL when
 * out of memory.
 */
metrics *metrics_new(const char *const *route_names, int nroutes);
void metrics_free(metrics *m);

/* One finished request: its route index, status code, duration and body bytes received. */
void metrics_request(metrics *m, int route, int status, double seconds, size_t bytes_in);

/* Time spent computing (worker side) for one request. */
void metrics_compute(metrics *m, double seconds);

/* A job's wait in the queue, and its run time, once it has finished. */
void metrics_job_wait(metrics *m, double seconds);
void metrics_job_run(metrics *m, double seconds);

/* A decode error of kind "png", "npy", "base64", "json" or "multipart" (others are ignored). */
void metrics_decode_error(metrics *m, const char *kind);

/* Appends the exposition text to out. g borrowed. */
seg_status metrics_render(metrics *m, const metrics_gauges *g, buf *out);

#endif
