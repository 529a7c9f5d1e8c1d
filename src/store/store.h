/*
 * store.h — runs, scores and jobs, in SQLite (one daemon, a file) or in
 * PostgreSQL (any number of daemons, one database). The service sees
 * only this header: store_open picks the backend from the address, and
 * every call means the same on both (src/store/backend.h has the table
 * of functions each backend fills; sqlite.c and pg*.c implement it).
 *
 * Any thread may call any function. Strings and arrays handed to
 * callbacks are valid only during the callback. Failures return
 * SEG_ESTORE with the backend's reason in the message ("store: database
 * or disk is full", "store: PostgreSQL is unreachable: ..."), or
 * SEG_ENOTFOUND.
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

/* A score: kind STORE_* (the store keeps any kind as an opaque integer); value NAN stands for null. */
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
 * (NumPy's default method). NAN when count is 0. count, sum, mean, std,
 * min and max are kept as items are written (sums exact, rounded once
 * when read), so they cost the same for ten items or a million; the
 * percentiles are read from an index of the values.
 */
typedef struct store_agg {
	int kind;
	const char *key;
	int64_t count;
	double mean, std, min, max;
	double median, p05, p95;
	double sum; /* the exact sum of the non-null values, rounded once (integers below 2^53 exactly) */
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
	int attempts;        /* PostgreSQL: claims of the job so far, this one included (store_job_claim);
				SQLite: 0, it does not count them */
} store_job;

/* How to open a store. Only where is required; zeros pick the defaults. */
typedef struct store_config {
	const char *where;         /* a SQLite file, ":memory:", or a PostgreSQL URI or key=value string */
	int connections;           /* PostgreSQL: connections in the pool (0: 4); size it to the workers */
	int lease_ms;              /* PostgreSQL: a claimed job's lease, renewed while it runs (0: 30000) */
	const char *password_file; /* PostgreSQL: a file holding the password (a Kubernetes Secret), or NULL */
	int sync_full;             /* 1: every commit waits for the disk; 0 (normal): recording an item does not
				      (SQLite synchronous=NORMAL in WAL mode; PostgreSQL synchronous_commit off for
				      items), so a crash of the machine or the database may lose the last fraction
				      of a second of items; jobs and deletions always wait */
} store_config;

/*
 * Whether where names a PostgreSQL database: a postgres:// or
 * postgresql:// URI, or a libpq key=value string (it starts with a
 * keyword and '=', as "host=db dbname=segloss"). Anything else is a
 * SQLite path, '=' in it or not ("./runs/a=b.db"; a bare "a=b.db"
 * reads as key=value: write it "./a=b.db"). where borrowed.
 */
int store_is_postgres(const char *where);

/*
 * where with any password left out, for logs: a path as it is, a
 * PostgreSQL address as postgresql://user@host:port/dbname. where and
 * out borrowed; out always terminated.
 */
void store_describe(const char *where, char *out, size_t cap);

/*
 * Opens a store. SQLite: opens (creating it and its folder if needed)
 * the file, or an in-memory database for ":memory:", in WAL mode, and
 * applies the schema migrations it lacks. PostgreSQL: checks the
 * address, connects, and applies the migrations it lacks under an
 * advisory lock (replicas starting together take turns); when the server
 * cannot be reached yet the store opens "down" and keeps trying in the
 * background (calls fail with SEG_ESTORE until it answers). cfg borrowed
 * for the call. Caller closes with store_close. NULL with err set.
 */
store *store_open_config(const store_config *cfg, seg_error *err);

/* store_open_config with the defaults for where (borrowed). */
store *store_open(const char *where, seg_error *err);

/* Closes the store; jobs it had claimed are left to their leases. NULL-safe. */
void store_close(store *s);

/* "sqlite" or "postgres" (static). */
const char *store_backend(const store *s);

/* The store's health, for /readyz and /metrics. Never blocks on the database. */
typedef struct store_health {
	int up;                   /* 1 when the database answered last time it was asked */
	char detail[160];         /* why it is down, else "" */
	uint64_t errors;          /* calls that failed with SEG_ESTORE since start */
	uint64_t write_errors;    /* of those, writes (disk full, read-only, lost connection) */
	uint64_t reconnects;      /* connections re-established after a loss */
	uint64_t losses;          /* losses of the database noticed: a broken connection, a failed
				     connection while up (PostgreSQL; SQLite: 0, its file does not go away) */
	int64_t size_bytes;       /* the database's size (PostgreSQL: sampled every few seconds) */
	int jobs_known;           /* jobs[] holds counts */
	int64_t jobs[JOB_STATUS_COUNT]; /* jobs per status (PostgreSQL: sampled every few seconds) */
} store_health;

/* Fills h (borrowed). */
void store_health_of(store *s, store_health *h);

/*
 * Losses of the database noticed since the store opened (store_health's
 * losses), and in *up (borrowed; may be NULL) whether it answers now:
 * cheap, never waits on the database. A SEG_ESTORE failure seen while
 * this number moved, or while the store is down, came from an outage
 * rather than from the store refusing a statement. SQLite: 0 and up.
 */
uint64_t store_losses(store *s, int *up);

/* Bytes the database occupies (SQLite: page count x page size). */
int64_t store_size_bytes(store *s);

/* Writes that failed since start (disk full, read-only, I/O, a lost connection). */
uint64_t store_write_errors(store *s);

/*
 * fn(arg) is called, from a thread of the store, when another daemon
 * queues a job (PostgreSQL's LISTEN/NOTIFY), and once soon after it is
 * set and after each reconnection (jobs may have been queued meanwhile);
 * SQLite never calls it. fn and arg borrowed until store_close, or until
 * set again (NULL clears).
 */
void store_set_job_hook(store *s, void (*fn)(void *arg), void *arg);

/*
 * Records one item of a run: creates the run if new, replaces the item if
 * it exists (it gets a new sequence number), in one transaction. Writers
 * of one run (from any daemon) are ordered until they commit, so
 * sequence numbers are handed out in commit order. run, item, scores
 * borrowed.
 */
seg_status store_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			const store_score *scores, size_t nscores, seg_error *err);

/*
 * The run's version, or with run NULL the version of the list of runs:
 * a number that grows with every committed change, whichever daemon
 * wrote, and is never given to the same run twice (0: no such run). A
 * run's version grows in its own commit order; compare two runs by
 * their sum, not their maximum. run borrowed.
 */
seg_status store_version(store *s, const char *run, int64_t *version, seg_error *err);

/* Calls fn for every run, by name. */
seg_status store_list_runs(store *s, void (*fn)(void *ctx, const store_run *r), void *ctx, seg_error *err);

/* One run's summary; SEG_ENOTFOUND when there is no such run. */
seg_status store_get_run(store *s, const char *run, store_run *out, seg_error *err);

/* Calls fn for each (kind, key) the run's items have a score for (losses first, then metrics, by key); run borrowed. */
seg_status store_run_keys(store *s, const char *run, void (*fn)(void *ctx, int kind, const char *key), void *ctx,
			  seg_error *err);

/* Calls fn for each key's aggregates, percentiles included (losses first, then metrics, by key). */
seg_status store_aggregates(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
			    seg_error *err);

/*
 * store_aggregates without the percentiles (median, p05 and p95 are NAN):
 * the part kept as items are written, read in constant time per key.
 */
seg_status store_aggregates_kept(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
				 seg_error *err);

/*
 * A run's summary into *out (borrowed) and its aggregates through fn, as
 * store_aggregates (percentiles 1) or store_aggregates_kept (0), read as
 * of one moment where the backend can (PostgreSQL: one statement), so
 * the run's count and version agree with every key's count while other
 * daemons write. SEG_ENOTFOUND when there is no such run. run borrowed.
 */
seg_status store_run_summary(store *s, const char *run, int percentiles, store_run *out,
			     void (*fn)(void *ctx, const store_agg *a), void *ctx, seg_error *err);

typedef struct store_items_query {
	int64_t after;       /* seq cursor: only items with a larger seq (ignored with order_key) */
	int limit;           /* 1..1000 */
	int order_kind;      /* with order_key: 0 losses, 1 metrics */
	const char *order_key; /* NULL: by seq ascending */
	int desc;            /* with order_key: largest first; without: by seq, newest first */
} store_items_query;

/*
 * Calls fn for the run's items per q. *next receives the largest seq
 * returned (or q->after when none), the cursor for the next poll.
 * Without order_key, desc lists the newest items (after q->after) first.
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
 * Takes the oldest queued job (PostgreSQL: or a running one whose lease
 * expired, its daemon gone): marks it running for this daemon (started
 * now, progress 0, a fresh lease) and calls fn with it, body included.
 * *found is 0 when there was none. Daemons sharing a database never take
 * the same job (SELECT ... FOR UPDATE SKIP LOCKED).
 */
seg_status store_job_claim(store *s, void (*fn)(void *ctx, const store_job *j), void *ctx, int *found,
			   seg_error *err);

/* What store_job_progress says to the runner. */
enum {
	STORE_JOB_GO = 0,     /* carry on */
	STORE_JOB_CANCEL = 1, /* a cancel was requested: stop after this item */
	STORE_JOB_LOST = 2,   /* the job is no longer ours (its lease expired and another daemon took it): stop, write nothing */
};

/*
 * Progress of a job this daemon runs; renews its lease. *next receives
 * STORE_JOB_GO, STORE_JOB_CANCEL or STORE_JOB_LOST.
 */
seg_status store_job_progress(store *s, const char *id, int done, int *next, seg_error *err);

/*
 * Ends a job this daemon runs: JOB_DONE with result JSON, JOB_FAILED with
 * error and status, or JOB_CANCELED. A job that is no longer ours is left
 * as it is: SEG_ECONFLICT.
 */
seg_status store_job_finish(store *s, const char *id, store_job_status st, const char *result,
			    const char *error, int error_status, seg_error *err);

/* Puts a job this daemon runs back in the queue (shutting down mid-job); it runs again from its first item. */
seg_status store_job_release(store *s, const char *id, seg_error *err);

/*
 * Cancels: a queued job becomes canceled at once; a running one is
 * flagged (the runner stops between items). *was receives the status
 * before. SEG_ENOTFOUND when there is no such job.
 */
seg_status store_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err);

/*
 * At start: jobs whose runner is gone go back to queued (they run again
 * from their first item). SQLite: every running job (a file has one
 * daemon, so none of them is running now). PostgreSQL: running jobs
 * whose lease expired (the others belong to live daemons). *count
 * receives how many.
 */
seg_status store_job_requeue(store *s, int *count, seg_error *err);

/*
 * Deletes finished jobs (done, failed, canceled) that finished before
 * before_ms. PostgreSQL: one daemon at a time; the others skip (*count -1).
 */
seg_status store_job_purge(store *s, int64_t before_ms, int *count, seg_error *err);

/* Jobs per status. */
seg_status store_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err);

/* ---- kept masks (keep_masks) ----------------------------------------------------
 * One table, item_masks (item_id -> target, prediction): an item's uploads,
 * deleted with the item (a rewrite, a deleted run).
 */

/*
 * An item's target and prediction as uploaded, and the request's options
 * that say how to read them (JSON text, NULL: none); all borrowed.
 */
typedef struct store_masks {
	const uint8_t *target;
	size_t target_len;
	const uint8_t *prediction;
	size_t prediction_len;
	const char *options;
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
 * Calls fn with the target (which 0), the prediction (which 1) or the
 * options' JSON text (which 2; zero bytes, data possibly NULL, when the
 * masks were kept without options) kept for the item whose current seq is seq in run
 * (run borrowed; the item name and bytes handed to fn live during the
 * call). SEG_ENOTFOUND, saying which, when there is no such run, no item
 * with that seq, or no masks.
 */
seg_status store_item_mask(store *s, const char *run, int64_t seq, int which,
			   void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			   seg_error *err);

#endif
