/*
 * pg_jobs.c — the job queue on PostgreSQL, shared by every daemon.
 *
 * The pattern of pgmq, River, Oban and Graphile Worker: a daemon claims
 * the oldest runnable job with UPDATE ... WHERE id = (SELECT ... FOR
 * UPDATE SKIP LOCKED LIMIT 1), so two daemons never take the same one
 * and none waits for another. A claim writes the daemon's name (owner)
 * and a lease (lease_until, the database's clock, so daemons' clocks do
 * not matter); the keeper renews the lease every lease/3 while the job
 * runs, and progress renews it too. A daemon that dies stops renewing:
 * once its lease has expired, the job is runnable again and the next
 * claim takes it, to run from its first item (its recorded items are
 * replaced, so the run's aggregates stay exact). Progress, finishing and
 * releasing all check the owner: a daemon whose lease was taken over
 * learns it at its next item (STORE_JOB_LOST) and writes nothing more.
 *
 * Rows come back in binary (the body can be 64 MiB: no hex text).
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLUMNS                                                                                                    \
	"id, status, created, started, finished, total, done, cancel, content_type, result, error, error_status"

const char pgs_sql_job_counts[] = "SELECT status, count(*) FROM jobs GROUP BY status";

/* A job from a binary row: JOB_COLUMNS, then the body (or NULL), the seq and the attempts. */
static void read_job(const PGresult *r, int row, store_job *j)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(r, row, 0));
	j->status = (store_job_status)pgs_bin_int(r, row, 1);
	j->created = pgs_bin_int(r, row, 2);
	j->started = pgs_bin_int(r, row, 3);
	j->finished = pgs_bin_int(r, row, 4);
	j->total = (int)pgs_bin_int(r, row, 5);
	j->done = (int)pgs_bin_int(r, row, 6);
	j->cancel_requested = (int)pgs_bin_int(r, row, 7);
	j->content_type = PQgetvalue(r, row, 8);
	j->result = PQgetisnull(r, row, 9) ? NULL : PQgetvalue(r, row, 9);
	j->error = PQgetisnull(r, row, 10) ? NULL : PQgetvalue(r, row, 10);
	j->error_status = (int)pgs_bin_int(r, row, 11);
	if (PQnfields(r) > 12 && !PQgetisnull(r, row, 12)) {
		j->body = (const uint8_t *)PQgetvalue(r, row, 12);
		j->body_len = (size_t)PQgetlength(r, row, 12);
	}
	if (PQnfields(r) > 13)
		j->seq = pgs_bin_int(r, row, 13);
	if (PQnfields(r) > 14)
		j->attempts = (int)pgs_bin_int(r, row, 14);
}

seg_status pgs_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			  char existing[40], int *same_body, seg_error *err)
{
	PGresult *r = NULL;
	char created[24], total[16];
	const char *v[7] = {j->id, idem_key, body_hash, created, total, j->content_type, (const char *)j->body};
	int len[7] = {0, 0, 0, 0, 0, 0, (int)j->body_len}, fmt[7] = {0, 0, 0, 0, 0, 0, 1};
	/* With an Idempotency-Key a second attempt finds the first: safe to retry. */
	pgs_call c = {"SELECT o_id, o_hash, o_new FROM segloss_job_insert($1, $2, $3, $4, $5, $6, $7)", 7, v, len, fmt, 0,
		      idem_key != NULL, 1};
	seg_status rc;

	existing[0] = '\0';
	*same_body = 0;
	snprintf(created, sizeof(created), "%lld", (long long)j->created);
	snprintf(total, sizeof(total), "%d", j->total);
	if (j->body == NULL)
		v[6] = "";
	rc = pgs_run((pgs *)s, &c, &r, err);
	if (rc == SEG_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 2), "f") == 0) {
		snprintf(existing, 40, "%s", PQgetvalue(r, 0, 0));
		*same_body = !PQgetisnull(r, 0, 1) && body_hash && strcmp(PQgetvalue(r, 0, 1), body_hash) == 0;
	} else if (rc == SEG_OK && PQntuples(r) != 1) {
		rc = seg_fail(err, SEG_ESTORE, "store: queuing job '%s' returned %d rows", j->id, PQntuples(r));
	}
	PQclear(r);
	return rc;
}

seg_status pgs_job_get(store *s, const char *id, int with_body, store_job_fn fn, void *ctx, seg_error *err)
{
	PGresult *r = NULL;
	const char *v[1] = {id};
	pgs_call c = {with_body ? "SELECT " JOB_COLUMNS ", body FROM jobs WHERE id = $1"
				: "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1",
		      1, v, NULL, NULL, 1, 1, 0};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	if (rc == SEG_OK && PQntuples(r) == 1) {
		store_job j;
		read_job(r, 0, &j);
		fn(ctx, &j);
	} else if (rc == SEG_OK) {
		rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_jobs_list(store *s, const store_jobs_query *q, store_job_fn fn, void *ctx, int64_t *next,
			 seg_error *err)
{
	PGresult *r = NULL;
	char before[24], mask[16], lim[16];
	const char *v[3] = {before, mask, lim};
	/* One row past the page tells whether an older job is left, and so whether there is a next page. */
	pgs_call c = {"SELECT id, status, created, started, finished, total, done, cancel, content_type, NULL::text, error, "
		      "error_status, NULL::bytea, seq FROM jobs WHERE ($1::bigint = 0 OR seq < $1) "
		      "AND ((1 << status) & $2::int) <> 0 ORDER BY seq DESC LIMIT $3",
		      3, v, NULL, NULL, 1, 1, 0};
	seg_status rc;
	int64_t last = 0;

	*next = 0;
	snprintf(before, sizeof(before), "%lld", (long long)q->before);
	snprintf(mask, sizeof(mask), "%u", q->status_mask);
	snprintf(lim, sizeof(lim), "%d", q->limit + 1);
	rc = pgs_run((pgs *)s, &c, &r, err);
	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		store_job j;
		if (i == q->limit) { /* the row past the page: there is one */
			*next = last;
			break;
		}
		read_job(r, i, &j);
		last = j.seq;
		fn(ctx, &j);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_job_claim(store *s, store_job_fn fn, void *ctx, int *found, seg_error *err)
{
	pgs *p = (pgs *)s;
	PGresult *r = NULL;
	char now[24], lease[16];
	const char *v[3] = {p->owner, now, lease};
	/*
	 * Not retried: a claim whose reply was lost may have committed; that
	 * job is not held here, so its lease runs out and another claim
	 * takes it.
	 */
	pgs_call c = {"UPDATE jobs SET status = 1, started = $2, done = 0, owner = $1, attempts = attempts + 1, "
		      "lease_until = now() + ($3::float8 * interval '1 millisecond') "
		      "WHERE id = (SELECT id FROM jobs WHERE status <= 1 AND (status = 0 OR lease_until < now()) "
		      "ORDER BY created, seq FOR UPDATE SKIP LOCKED LIMIT 1) "
		      "RETURNING " JOB_COLUMNS ", body, 0::bigint, attempts",
		      3, v, NULL, NULL, 1, 0, 1};
	seg_status rc;

	*found = 0;
	snprintf(now, sizeof(now), "%lld", (long long)store_now_ms());
	snprintf(lease, sizeof(lease), "%d", p->lease_ms);
	rc = pgs_run(p, &c, &r, err);
	if (rc == SEG_OK && PQntuples(r) == 1) {
		store_job j;
		read_job(r, 0, &j);
		pgs_hold(p, j.id);
		*found = 1;
		fn(ctx, &j);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_job_progress(store *s, const char *id, int done, int *next, seg_error *err)
{
	pgs *p = (pgs *)s;
	PGresult *r = NULL;
	char d[16], lease[16];
	const char *v[4] = {id, p->owner, d, lease};
	pgs_call c = {"UPDATE jobs SET done = $3, lease_until = now() + ($4::float8 * interval '1 millisecond') "
		      "WHERE id = $1 AND owner = $2 AND status = 1 RETURNING cancel",
		      4, v, NULL, NULL, 0, 1, 1};
	seg_status rc;

	*next = STORE_JOB_GO;
	snprintf(d, sizeof(d), "%d", done);
	snprintf(lease, sizeof(lease), "%d", p->lease_ms);
	rc = pgs_run(p, &c, &r, err);
	if (rc == SEG_OK)
		*next = PQntuples(r) == 0 ? STORE_JOB_LOST
			: strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? STORE_JOB_CANCEL
								  : STORE_JOB_GO;
	PQclear(r);
	return rc;
}

seg_status pgs_job_finish(store *s, const char *id, store_job_status st, const char *result, const char *error,
			  int error_status, seg_error *err)
{
	pgs *p = (pgs *)s;
	PGresult *r = NULL;
	char status[8], now[24], es[16];
	const char *v[7] = {id, p->owner, status, now, result, error, es};
	pgs_call c = {"UPDATE jobs SET status = $3::int, finished = $4, result = $5, error = $6, error_status = $7, "
		      "body = CASE WHEN $3::int = 2 THEN ''::bytea ELSE body END, "
		      "done = CASE WHEN $3::int = 2 THEN total ELSE done END, owner = NULL, lease_until = NULL "
		      "WHERE id = $1 AND owner = $2 AND status = 1",
		      7, v, NULL, NULL, 0, 1, 1};
	seg_status rc;

	snprintf(status, sizeof(status), "%d", (int)st);
	snprintf(now, sizeof(now), "%lld", (long long)store_now_ms());
	snprintf(es, sizeof(es), "%d", error_status);
	rc = pgs_run(p, &c, &r, err);
	if (rc == SEG_OK && strcmp(PQcmdTuples(r), "0") == 0)
		rc = seg_fail(err, SEG_ECONFLICT, "job '%.40s' is no longer running here (its lease was taken over)", id);
	PQclear(r);
	pgs_hold(p, NULL);
	return rc;
}

seg_status pgs_job_release(store *s, const char *id, seg_error *err)
{
	pgs *p = (pgs *)s;
	PGresult *r = NULL;
	const char *v[2] = {id, p->owner};
	pgs_call c = {"UPDATE jobs SET status = 0, started = 0, done = 0, owner = NULL, lease_until = NULL "
		      "WHERE id = $1 AND owner = $2 AND status = 1",
		      2, v, NULL, NULL, 0, 1, 1};
	seg_status rc = pgs_run(p, &c, &r, err);

	PQclear(r);
	pgs_hold(p, NULL);
	return rc;
}

seg_status pgs_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err)
{
	PGresult *r = NULL;
	char now[24];
	const char *v[2] = {id, now};
	/* Not retried: a second cancel would report the state the first one left. */
	pgs_call c = {"SELECT segloss_job_cancel($1, $2)", 2, v, NULL, NULL, 0, 0, 1};
	seg_status rc;

	snprintf(now, sizeof(now), "%lld", (long long)store_now_ms());
	rc = pgs_run((pgs *)s, &c, &r, err);
	if (rc == SEG_OK) {
		int64_t st = PQntuples(r) == 1 ? pgs_int(r, 0, 0) : -1;
		if (st < 0)
			rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
		else
			*was = (store_job_status)st;
	}
	PQclear(r);
	return rc;
}

seg_status pgs_job_requeue(store *s, int *count, seg_error *err)
{
	PGresult *r = NULL;
	pgs_call c = {"UPDATE jobs SET status = 0, started = 0, done = 0, owner = NULL, lease_until = NULL "
		      "WHERE status = 1 AND lease_until < now()",
		      0, NULL, NULL, NULL, 0, 1, 1};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	*count = rc == SEG_OK ? atoi(PQcmdTuples(r)) : 0;
	PQclear(r);
	return rc;
}

seg_status pgs_job_purge(store *s, int64_t before_ms, int *count, seg_error *err)
{
	PGresult *r = NULL;
	char before[24];
	const char *v[1] = {before};
	pgs_call c = {"SELECT segloss_job_purge($1)", 1, v, NULL, NULL, 0, 1, 1};
	seg_status rc;

	snprintf(before, sizeof(before), "%lld", (long long)before_ms);
	rc = pgs_run((pgs *)s, &c, &r, err);
	*count = rc == SEG_OK && PQntuples(r) == 1 ? (int)pgs_int(r, 0, 0) : 0;
	PQclear(r);
	return rc;
}

seg_status pgs_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err)
{
	PGresult *r = NULL;
	pgs_call c = {pgs_sql_job_counts, 0, NULL, NULL, NULL, 0, 1, 0};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	memset(counts, 0, sizeof(int64_t) * JOB_STATUS_COUNT);
	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		int64_t k = pgs_int(r, i, 0);
		if (k >= 0 && k < JOB_STATUS_COUNT)
			counts[k] = pgs_int(r, i, 1);
	}
	PQclear(r);
	return rc;
}
