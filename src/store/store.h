/*
 * store.h — runs, scores and jobs in SQLite. All SQL lives in store.c.
 *
 * One handle serialises every statement behind a mutex, so any thread may
 * call any function. Strings and arrays handed to callbacks are valid only
 * during the callback. Failures return SEG_ESTORE with SQLite's reason in
 * the message ("store: database or disk is full"), or SEG_ENOTFOUND.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

typedef struct store store;

#define STORE_RUN_MAX 128  /* run names: 1..128 of A-Za-z0-9._- */
#define STORE_ITEM_MAX 512 /* item names: 1..512 bytes of UTF-8 */

/* What a score is. */
enum {
	STORE_LOSS = 0,
	STORE_METRIC = 1,
	STORE_PER_CLASS = 2, /* a metric of one class, keyed "metric.class" */
	STORE_COUNTS = 3,    /* one class's pixel counts, "tp.class", "fp.class", "fn.class", and "valid" */
};

/* A score: kind STORE_*; value NAN stands for null. */
typedef struct store_score {
	int kind;
	const char *key;
	double value;
} store_score;

typedef struct store_run {
	char name[STORE_RUN_MAX + 1];
	int64_t count;   /* items */
	int64_t created; /* ms since the epoch */
	int64_t updated;
	int64_t version; /* bumps on every change to the run */
} store_run;

typedef struct store_item {
	int64_t seq; /* the run's write sequence number of this item's latest version */
	const char *item;
	int64_t time;
	int width;
	int height;
	const store_score *scores;
	size_t nscores;
} store_item;

/*
 * Aggregates of one key over a run's items; nulls are not counted. std is
 * the population std; median, p05 and p95 are the 50th, 5th and 95th
 * percentiles by linear interpolation between the closest ranks
 * (NumPy's default method). NAN when count is 0.
 */
typedef struct store_agg {
	int kind;
	const char *key;
	int64_t count;
	double mean, std, min, max;
	double median, p05, p95;
	double sum; /* exact for counts (integers below 2^53) */
} store_agg;

/* One key of a comparison: both runs' means and the items present in both, with their values. */
typedef struct store_pair {
	int kind;
	const char *key;
	const char *item;
	double a, b; /* NAN: null */
} store_pair;

typedef enum store_job_status {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_CANCELED,
	JOB_STATUS_COUNT
} store_job_status;

const char *store_job_status_name(store_job_status st);

typedef struct store_job {
	char id[40];
	int64_t seq;         /* order of submission, from 1 (set by store_jobs_list) */
	store_job_status status;
	int64_t created, started, finished; /* ms; 0 when not yet */
	int total, done;
	int cancel_requested;
	const char *content_type;
	const uint8_t *body; /* the request as received */
	size_t body_len;
	const char *result;  /* JSON text, when done */
	const char *error;   /* problem detail, when failed */
	int error_status;    /* HTTP status of the failure */
} store_job;

/*
 * Opens (creating it and its folder if needed) the database at path, or
 * an in-memory one for ":memory:". Sets WAL mode and applies schema
 * migrations. Caller closes with store_close. NULL with err set.
 */
store *store_open(const char *path, seg_error *err);
void store_close(store *s);

/* Bytes the database occupies (page count x page size). */
int64_t store_size_bytes(store *s);

/* Writes that failed since start (disk full, read-only, I/O). */
uint64_t store_write_errors(store *s);

/*
 * Records one item of a run: creates the run if new, replaces the item if
 * it exists (it gets a new sequence number), in one transaction.
 * run, item, scores borrowed.
 */
seg_status store_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			const store_score *scores, size_t nscores, seg_error *err);

/* The run's version (or the sum over all runs when run is NULL): changes whenever data changes. */
seg_status store_version(store *s, const char *run, int64_t *version, seg_error *err);

/* Calls fn for every run, by name. */
seg_status store_list_runs(store *s, void (*fn)(void *ctx, const store_run *r), void *ctx, seg_error *err);

/* One run's summary; SEG_ENOTFOUND when there is no such run. */
seg_status store_get_run(store *s, const char *run, store_run *out, seg_error *err);

/* Calls fn for each (kind, key) the run's items have a score for (losses first, then metrics, by key); run borrowed. */
seg_status store_run_keys(store *s, const char *run, void (*fn)(void *ctx, int kind, const char *key), void *ctx,
			  seg_error *err);

/* Calls fn for each key's aggregates (losses first, then metrics, by key). */
seg_status store_aggregates(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
			    seg_error *err);

typedef struct store_items_query {
	int64_t after;       /* seq cursor: only items with a larger seq (ignored with order_key) */
	int limit;           /* 1..1000 */
	int order_kind;      /* with order_key: 0 losses, 1 metrics */
	const char *order_key; /* NULL: by seq ascending */
	int desc;            /* with order_key: largest first */
} store_items_query;

/*
 * Calls fn for the run's items per q. *next receives the largest seq
 * returned (or q->after when none), the cursor for the next poll.
 */
seg_status store_items(store *s, const char *run, const store_items_query *q,
		       void (*fn)(void *ctx, const store_item *it), void *ctx, int64_t *next, seg_error *err);

/* For every (kind, key) both runs have: fn per item present in both (sorted by kind, key, item). */
seg_status store_compare(store *s, const char *a, const char *b, void (*fn)(void *ctx, const store_pair *p),
			 void *ctx, seg_error *err);

/* Means of one key in a run (count 0 when absent); used by comparisons. */
seg_status store_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			  seg_error *err);

/* Deletes a run and its items; SEG_ENOTFOUND when there is none. */
seg_status store_delete_run(store *s, const char *run, seg_error *err);

/*
 * Inserts a queued job (j->id, content_type, body, total; idem_key and
 * body_hash may be NULL). When idem_key is already used, nothing is
 * inserted and *existing receives that job's id, and *same_body whether
 * its body hash equals body_hash. Committed before returning.
 */
seg_status store_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			    char existing[40], int *same_body, seg_error *err);

/* Calls fn with the job; SEG_ENOTFOUND when there is none. */
seg_status store_job_get(store *s, const char *id, int with_body, void (*fn)(void *ctx, const store_job *j),
			 void *ctx, seg_error *err);

typedef struct store_jobs_query {
	unsigned status_mask; /* bit (1 << status) for each status listed */
	int64_t before;       /* cursor: only jobs with a smaller seq; 0 from the newest */
	int limit;            /* 1..1000 */
} store_jobs_query;

/*
 * Calls fn for the jobs of q (borrowed), newest first (by seq), without
 * body and result. *next receives the seq of the last one when an older
 * one matches too (the cursor for the next page), else 0.
 */
seg_status store_jobs_list(store *s, const store_jobs_query *q, void (*fn)(void *ctx, const store_job *j),
			   void *ctx, int64_t *next, seg_error *err);

/*
 * Takes the oldest queued job: marks it running (started now) and calls
 * fn with it, body included. *found is 0 when there was none.
 */
seg_status store_job_claim(store *s, void (*fn)(void *ctx, const store_job *j), void *ctx, int *found,
			   seg_error *err);

/* Progress of a running job; *cancel receives whether a cancel was requested. */
seg_status store_job_progress(store *s, const char *id, int done, int *cancel, seg_error *err);

/* Ends a job: JOB_DONE with result JSON, JOB_FAILED with error and status, or JOB_CANCELED. */
seg_status store_job_finish(store *s, const char *id, store_job_status st, const char *result,
			    const char *error, int error_status, seg_error *err);

/*
 * Cancels: a queued job becomes canceled at once; a running one is
 * flagged (the runner stops between items). *was receives the status
 * before. SEG_ENOTFOUND when there is no such job.
 */
seg_status store_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err);

/* After a crash: running jobs go back to queued (they run again from the start). Returns how many. */
seg_status store_job_requeue(store *s, int *count, seg_error *err);

/* Deletes finished jobs (done, failed, canceled) that finished before before_ms. */
seg_status store_job_purge(store *s, int64_t before_ms, int *count, seg_error *err);

/* Jobs per status. */
seg_status store_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err);

/* ---- kept masks (keep_masks) ----------------------------------------------------
 * One table, item_masks (item_id -> target, prediction): an item's uploads,
 * deleted with the item (a rewrite, a deleted run).
 */

/* An item's target and prediction as uploaded; both borrowed. */
typedef struct store_masks {
	const uint8_t *target;
	size_t target_len;
	const uint8_t *prediction;
	size_t prediction_len;
} store_masks;

/*
 * store_record, and in the same transaction the item's masks m (borrowed;
 * run, item and scores too), unless the run's kept masks would then hold
 * more than run_cap bytes. *kept says whether they were kept; *run_bytes
 * receives what the run's masks held before them (the item's previous
 * version excluded). The scores are recorded either way.
 */
seg_status store_record_masks(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			      const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap,
			      int *kept, uint64_t *run_bytes, seg_error *err);

/*
 * Calls fn with the target (which 0) or the prediction (which 1) kept for
 * the item whose current seq is seq in run (run borrowed; the item name
 * and bytes handed to fn live during the call). SEG_ENOTFOUND, saying
 * which, when there is no such run, no item with that seq, or no masks.
 */
seg_status store_item_mask(store *s, const char *run, int64_t seq, int which,
			   void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			   seg_error *err);

#endif
