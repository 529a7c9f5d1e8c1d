/*
 * sqlite_int.h — what sqlite.c (opening), sqlite_runs.c and sqlite_jobs.c share:
 * the handle, its statement cache and the error helpers. Only those two
 * files include it.
 */
#ifndef STORE_SQLITE_INT_H
#define STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/backend.h"

#define LITE_CACHE 64 /* distinct SQL statements kept prepared */

typedef struct lite {
	struct store base;
	sqlite3 *db;
	pthread_mutex_t lock; /* one connection: every statement runs under it */
	uint64_t write_errors;
	char *path; /* NULL in memory */
	struct {
		const char *sql; /* a static string: looked up by address */
		sqlite3_stmt *st;
	} cache[LITE_CACHE];
	int ncache;
} lite;

/* Records SQLite's reason as SEG_ESTORE; write failures are counted (the caller holds the lock). */
seg_status lite_fail(lite *l, int write, seg_error *err);

/* Runs sql (no result rows). BEGIN of a write first checks the file is writable. */
seg_status lite_exec(lite *l, const char *sql, int write, seg_error *err);

/*
 * The prepared statement for sql, a static string (prepared once, then
 * reused): NULL with err set on failure. Give it back with lite_done.
 */
sqlite3_stmt *lite_stmt(lite *l, const char *sql, seg_error *err);

/* Resets a statement from lite_stmt and clears its bindings. NULL-safe. */
void lite_done(sqlite3_stmt *st);

void lite_rollback(lite *l);

/* Binds text, or NULL for a NULL pointer. */
void lite_bind_text(sqlite3_stmt *st, int i, const char *v);

/* The runs half of the table of functions (sqlite_runs.c). */
seg_status lite_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
		       const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap, int *kept,
		       uint64_t *run_bytes, seg_error *err);
seg_status lite_item_mask(store *s, const char *run, int64_t seq, int which,
			  void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			  seg_error *err);
seg_status lite_version(store *s, const char *run, int64_t *version, seg_error *err);
seg_status lite_list_runs(store *s, store_run_fn fn, void *ctx, seg_error *err);
seg_status lite_get_run(store *s, const char *run, store_run *out, seg_error *err);
seg_status lite_run_keys(store *s, const char *run, store_key_fn fn, void *ctx, seg_error *err);
seg_status lite_aggregates(store *s, const char *run, int percentiles, store_agg_fn fn, void *ctx, seg_error *err);
seg_status lite_items(store *s, const char *run, const store_items_query *q, store_item_fn fn, void *ctx,
		      int64_t *next, seg_error *err);
seg_status lite_compare(store *s, const char *a, const char *b, store_pair_fn fn, void *ctx, seg_error *err);
seg_status lite_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			 seg_error *err);
seg_status lite_delete_run(store *s, const char *run, seg_error *err);

/* The jobs half of the table of functions (sqlite_jobs.c). */
seg_status lite_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			   char existing[40], int *same_body, seg_error *err);
seg_status lite_job_get(store *s, const char *id, int with_body, store_job_fn fn, void *ctx, seg_error *err);
seg_status lite_jobs_list(store *s, const store_jobs_query *q, store_job_fn fn, void *ctx, int64_t *next,
			  seg_error *err);
seg_status lite_job_claim(store *s, store_job_fn fn, void *ctx, int *found, seg_error *err);
seg_status lite_job_progress(store *s, const char *id, int done, int *next, seg_error *err);
seg_status lite_job_finish(store *s, const char *id, store_job_status st, const char *result, const char *error,
			   int error_status, seg_error *err);
seg_status lite_job_release(store *s, const char *id, seg_error *err);
seg_status lite_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err);
seg_status lite_job_requeue(store *s, int *count, seg_error *err);
seg_status lite_job_purge(store *s, int64_t before_ms, int *count, seg_error *err);
seg_status lite_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err);

#endif
