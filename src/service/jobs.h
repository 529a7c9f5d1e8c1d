/*
 * jobs.h — the job runner: one thread that takes queued jobs from the
 * store, runs them item by item and writes their results back.
 *
 * The store is the queue: a job is runnable once its row is committed,
 * whoever inserted it, so a restart after a crash finds every accepted
 * job again (running ones are put back to queued first), and daemons
 * sharing a PostgreSQL store share the queue (a job one of them left
 * running runs again elsewhere once its lease expires).
 */
#ifndef JOBS_H
#define JOBS_H

#include <stdint.h>

#include "core/seg.h"
#include "service/service.h"

typedef struct jobs jobs;

/* Observations for the metrics: queue wait and run time of each finished job, in seconds. */
typedef struct jobs_hooks {
	void (*waited)(void *arg, double seconds);
	void (*ran)(void *arg, double seconds);
	void *arg;
} jobs_hooks;

/*
 * Requeues jobs left running by a daemon that is gone, purges finished
 * jobs older than ttl_ms, and starts the runner. ctx (borrowed, must outlive
 * the runner) gives the store and limits; hooks may be NULL. Caller stops
 * with jobs_stop. NULL with err set.
 */
jobs *jobs_start(const svc_ctx *ctx, int64_t ttl_ms, const jobs_hooks *hooks, seg_error *err);

/* Wakes the runner: a job was queued. Callable from any thread; arg is the jobs handle. */
void jobs_notify(void *arg);

/*
 * Stops the runner: a job in progress stops after its current item and
 * goes back to queued, to run again on the next start (or on another
 * daemon sharing the store). NULL-safe.
 */
void jobs_stop(jobs *j);

#endif
