/*
 * pool.h — a fixed pool of worker threads with a bounded queue.
 *
 * A job is a function and an opaque argument whose ownership moves into
 * the pool on a successful submit and to the function when it runs. The
 * function never fails as far as the pool is concerned: it records its
 * outcome in its argument. With zero workers the pool runs each job
 * inline, in the submitting thread, which keeps unit tests deterministic.
 */
#ifndef POOL_H
#define POOL_H

#include "core/seg.h"

typedef struct pool pool;
typedef void (*pool_fn)(void *arg);

/*
 * Starts workers threads (0: run inline) with a queue of queue_cap
 * waiting jobs (>= 1). Caller frees with pool_free. NULL on failure, with
 * err set.
 */
pool *pool_new(int workers, int queue_cap, seg_error *err);

/*
 * Queues fn(arg). On SEG_OK the pool owns arg until fn runs; on
 * SEG_EBUSY (queue full, or the pool is stopping) ownership stays with
 * the caller and fn is not called.
 */
seg_status pool_submit(pool *p, pool_fn fn, void *arg);

/* Waiting jobs, running jobs, and the two capacities; any pointer may be NULL. */
void pool_stats(pool *p, int *queued, int *busy, int *workers, int *capacity);

/* 1 when a submit would be accepted now. */
int pool_has_room(pool *p);

/*
 * Takes every job still waiting (not yet started) out of the queue and
 * calls cancel(arg) for each instead of its function, in the caller's
 * thread; ownership of arg moves to cancel. Running jobs are untouched.
 * Returns how many were canceled.
 */
int pool_cancel_queued(pool *p, pool_fn cancel);

/*
 * Stops accepting jobs, runs every job already queued, joins the
 * threads and frees the pool. NULL-safe.
 */
void pool_free(pool *p);

#endif
