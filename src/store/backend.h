/*
 * backend.h — what a store backend provides: one table of functions,
 * filled by sqlite.c (store_sqlite) and pg.c (store_pg), and the helpers
 * both share. Only src/store includes it.
 *
 * Every backend's handle starts with struct store (the table and the
 * counters the dispatch in store.c keeps), so a pointer to the backend's
 * struct is a store pointer. The functions mean exactly what store.h
 * says of their public names; store.c counts their SEG_ESTORE failures.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stdatomic.h>

#include "store/store.h"

typedef void (*store_run_fn)(void *ctx, const store_run *r);
typedef void (*store_key_fn)(void *ctx, int kind, const char *key);
typedef void (*store_agg_fn)(void *ctx, const store_agg *a);
typedef void (*store_item_fn)(void *ctx, const store_item *it);
typedef void (*store_pair_fn)(void *ctx, const store_pair *p);
typedef void (*store_job_fn)(void *ctx, const store_job *j);

typedef struct store_ops {
	const char *name; /* "sqlite", "postgres" */
	void (*close)(store *s);
	void (*health)(store *s, store_health *h);
	void (*set_job_hook)(store *s, void (*fn)(void *arg), void *arg);
	uint64_t (*losses)(store *s, int *up); /* store_losses; NULL: the database cannot be lost (SQLite) */

	/* store_record_masks; m NULL for store_record (then kept and run_bytes are left 0). */
	seg_status (*record)(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			     const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap, int *kept,
			     uint64_t *run_bytes, seg_error *err);
	seg_status (*item_mask)(store *s, const char *run, int64_t seq, int which,
				void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
				seg_error *err);
	seg_status (*version)(store *s, const char *run, int64_t *version, seg_error *err);
	seg_status (*list_runs)(store *s, store_run_fn fn, void *ctx, seg_error *err);
	seg_status (*get_run)(store *s, const char *run, store_run *out, seg_error *err);
	seg_status (*run_keys)(store *s, const char *run, store_key_fn fn, void *ctx, seg_error *err);
	seg_status (*aggregates)(store *s, const char *run, int percentiles, store_agg_fn fn, void *ctx,
				 seg_error *err);
	/* store_run_summary; NULL: store.c reads the run, then its aggregates (SQLite: one daemon per file). */
	seg_status (*run_summary)(store *s, const char *run, int percentiles, store_run *out, store_agg_fn fn,
				  void *ctx, seg_error *err);
	seg_status (*items)(store *s, const char *run, const store_items_query *q, store_item_fn fn, void *ctx,
			    int64_t *next, seg_error *err);
	seg_status (*compare)(store *s, const char *a, const char *b, store_pair_fn fn, void *ctx, seg_error *err);
	seg_status (*key_mean)(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			       seg_error *err);
	seg_status (*delete_run)(store *s, const char *run, seg_error *err);

	seg_status (*job_insert)(store *s, const store_job *j, const char *idem_key, const char *body_hash,
				 char existing[40], int *same_body, seg_error *err);
	seg_status (*job_get)(store *s, const char *id, int with_body, store_job_fn fn, void *ctx, seg_error *err);
	seg_status (*jobs_list)(store *s, const store_jobs_query *q, store_job_fn fn, void *ctx, int64_t *next,
				seg_error *err);
	seg_status (*job_claim)(store *s, store_job_fn fn, void *ctx, int *found, seg_error *err);
	seg_status (*job_progress)(store *s, const char *id, int done, int *next, seg_error *err);
	seg_status (*job_finish)(store *s, const char *id, store_job_status st, const char *result, const char *error,
				 int error_status, seg_error *err);
	seg_status (*job_release)(store *s, const char *id, seg_error *err);
	seg_status (*job_cancel)(store *s, const char *id, store_job_status *was, seg_error *err);
	seg_status (*job_requeue)(store *s, int *count, seg_error *err);
	seg_status (*job_purge)(store *s, int64_t before_ms, int *count, seg_error *err);
	seg_status (*job_counts)(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err);
} store_ops;

struct store {
	const store_ops *ops;
	atomic_ullong errors; /* SEG_ESTORE failures, counted by store.c */
};

/* The backends' constructors: cfg borrowed; NULL with err set. */
store *store_sqlite_open(const store_config *cfg, seg_error *err);
store *store_pg_open(const store_config *cfg, seg_error *err);

/* pg.c: a PostgreSQL address without its password (store_describe). where and out borrowed. */
void store_pg_describe(const char *where, char *out, size_t cap);

/* ---- shared helpers (store.c) ---- */

/* Wall-clock milliseconds since the epoch. */
int64_t store_now_ms(void);

/*
 * The q-quantile (0 <= q <= 1) of n >= 1 values where lo, hi are the
 * values at ranks floor(q(n-1)) and the next one (hi unused when that
 * rank is the last): NumPy's "linear" method, to the bit.
 */
double store_quantile_of(double lo, double hi, size_t n, double q);

/* The rank floor(q(n-1)) store_quantile_of needs, computed as it does. */
int64_t store_quantile_rank(int64_t n, double q);

/* The three percentiles a store_agg carries, in its field order. */
extern const double store_percentiles[3]; /* 0.05, 0.5, 0.95 */

#endif
