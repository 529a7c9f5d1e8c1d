/*
 * pg_int.h — what pg.c (connections, the keeper thread), pg_schema.c
 * (migrations), pg_runs.c and pg_jobs.c share. Only those files include it.
 */
#ifndef STORE_PG_INT_H
#define STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/backend.h"

#define PGS_PREPARED 48 /* distinct statements a connection keeps prepared */

/* A connection's prepared statements, "s0", "s1", ...: the SQL (a static string) of each. */
struct pgs_prepared {
	const char *sql[PGS_PREPARED];
	int n;
};

typedef struct pgs {
	struct store base;
	char *where;         /* the address as given (may hold a password: never logged) */
	char *password_file; /* NULL: PGPASSWORD, PGPASSFILE or the address */
	char place[200];     /* the address without its password, for messages */
	int lease_ms;
	int sync_full; /* 0: item writes commit without waiting for the WAL flush (pg_schema.c) */
	char owner[96]; /* this daemon, in jobs.owner: host:pid:random */

	/* The pool: one connection per slot, a slot used by one thread at a time. */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int nconns;
	PGconn **conns; /* NULL: not connected (yet, or since it was lost) */
	char *busy;
	char *had; /* the slot was connected once: connecting again counts as a reconnect */
	uint64_t *conn_gen; /* per slot: losses (below) when its connection was opened; older is stale */
	struct pgs_prepared *prepared; /* per slot: the statements its connection has prepared */

	/* State, under lock. */
	int up;
	char detail[160];
	int64_t last_try_ms; /* the last connection attempt that failed */
	int migrated;
	uint64_t reconnects, write_errors;
	/*
	 * Losses of the database noticed (a connection found broken, a failed
	 * connection while up). A pooled connection opened before the latest
	 * one is reopened before its next use: libpq reports a connection the
	 * server closed as fine until it is used, and a call that is not safe
	 * to run twice would fail on it.
	 */
	uint64_t losses;
	int64_t size_bytes;
	int jobs_known;
	int64_t jobs[JOB_STATUS_COUNT];
	char held[40]; /* the job this daemon runs: its lease is renewed by the keeper */
	void (*hook)(void *arg);
	void *hook_arg;
	int hook_calls; /* calls of hook in progress: setting another waits for them */
	int hook_due;   /* the keeper calls hook once more: it was set, or the keeper (re)connected */
	pthread_cond_t hook_idle;

	/* The keeper thread: LISTEN, leases, samples for /metrics, reconnection. */
	pthread_t keeper;
	int keeper_started;
	int stopping;
	int wake[2]; /* a pipe: close wakes the keeper */
} pgs;

/* A statement to run: parameters are text unless formats says 1 (binary). */
typedef struct pgs_call {
	const char *sql;
	int nparams;
	const char *const *values;
	const int *lengths; /* for binary parameters */
	const int *formats;
	int binary;         /* results in binary */
	int retry;          /* safe to run again on a fresh connection when the first one was lost */
	int write;          /* a failure counts as a write error */
} pgs_call;

/*
 * Runs c on a pooled connection. On SEG_OK *res holds the result (caller
 * PQclears it); otherwise err says why (SEG_ESTORE): the server's error,
 * or that PostgreSQL is unreachable.
 */
seg_status pgs_run(pgs *p, const pgs_call *c, PGresult **res, seg_error *err);

/* The first line of a libpq message, without "ERROR:  " or "FATAL:  ". msg and out borrowed. */
void pgs_first_line(const char *msg, char *out, size_t cap);

/* Runs sql (no parameters) on c and checks it; why filled on failure. Borrowed. */
int pgs_exec_ok(PGconn *c, const char *sql, char *why, size_t cap);

/*
 * Applies the migrations the database lacks, under an advisory lock
 * (pg_schema.c). 1 when done, 0 with why filled; *fatal is set when
 * retrying cannot help (the database is newer than this daemon, a
 * migration failed). c borrowed.
 */
int pgs_migrate(PGconn *c, char *why, size_t cap, int *fatal);

/* The job this daemon runs (NULL: none), whose lease the keeper renews. */
void pgs_hold(pgs *p, const char *id);

/* Readers of text results. */
int64_t pgs_int(const PGresult *r, int row, int col);
double pgs_double(const PGresult *r, int row, int col); /* NAN for NULL */

/* Readers of binary results (network byte order). */
int64_t pgs_bin_int(const PGresult *r, int row, int col); /* int2, int4 or int8 by length */

/* The runs half and the jobs half of the table of functions. */
seg_status pgs_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
		      const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap, int *kept,
		      uint64_t *run_bytes, seg_error *err);
seg_status pgs_item_mask(store *s, const char *run, int64_t seq, int which,
			 void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			 seg_error *err);
seg_status pgs_version(store *s, const char *run, int64_t *version, seg_error *err);
seg_status pgs_list_runs(store *s, store_run_fn fn, void *ctx, seg_error *err);
seg_status pgs_get_run(store *s, const char *run, store_run *out, seg_error *err);
seg_status pgs_run_keys(store *s, const char *run, store_key_fn fn, void *ctx, seg_error *err);
seg_status pgs_aggregates(store *s, const char *run, int percentiles, store_agg_fn fn, void *ctx, seg_error *err);
seg_status pgs_run_summary(store *s, const char *run, int percentiles, store_run *out, store_agg_fn fn, void *ctx,
			   seg_error *err);
seg_status pgs_items(store *s, const char *run, const store_items_query *q, store_item_fn fn, void *ctx,
		     int64_t *next, seg_error *err);
seg_status pgs_compare(store *s, const char *a, const char *b, store_pair_fn fn, void *ctx, seg_error *err);
seg_status pgs_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			seg_error *err);
seg_status pgs_delete_run(store *s, const char *run, seg_error *err);

seg_status pgs_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			  char existing[40], int *same_body, seg_error *err);
seg_status pgs_job_get(store *s, const char *id, int with_body, store_job_fn fn, void *ctx, seg_error *err);
seg_status pgs_jobs_list(store *s, const store_jobs_query *q, store_job_fn fn, void *ctx, int64_t *next,
			 seg_error *err);
seg_status pgs_job_claim(store *s, store_job_fn fn, void *ctx, int *found, seg_error *err);
seg_status pgs_job_progress(store *s, const char *id, int done, int *next, seg_error *err);
seg_status pgs_job_finish(store *s, const char *id, store_job_status st, const char *result, const char *error,
			  int error_status, seg_error *err);
seg_status pgs_job_release(store *s, const char *id, seg_error *err);
seg_status pgs_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err);
seg_status pgs_job_requeue(store *s, int *count, seg_error *err);
seg_status pgs_job_purge(store *s, int64_t before_ms, int *count, seg_error *err);
seg_status pgs_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err);

/* The SQL of the jobs half used by the keeper: the counts per status. */
extern const char pgs_sql_job_counts[];

#endif
