/*
 * sqlite_jobs.c — the job queue of the SQLite backend.
 *
 * A file has one daemon, so a job is claimed by marking it running in a
 * BEGIN IMMEDIATE transaction, and at start every running job belongs to
 * a process that is gone (store_job_requeue puts them all back). Jobs are
 * numbered by meta.job_seq in the transaction that inserts them, so the
 * listing cursor never skips or repeats one, and a purged number is never
 * given again.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

static const char sql_idem[] = "SELECT id, body_hash FROM jobs WHERE idem_key = ?1";
static const char sql_job_seq[] = "UPDATE meta SET value = value + 1 WHERE key = 'job_seq' RETURNING value";
static const char sql_job_insert[] =
	"INSERT INTO jobs(id, idem_key, body_hash, status, created, total, content_type, body, seq) "
	"VALUES(?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8)";

seg_status lite_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			   char existing[40], int *same_body, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc;
	int64_t seq = 0;

	existing[0] = '\0';
	*same_body = 0;
	pthread_mutex_lock(&l->lock);
	rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK && idem_key) {
		if ((st = lite_stmt(l, sql_idem, err)) == NULL) {
			rc = SEG_ESTORE;
		} else {
			sqlite3_bind_text(st, 1, idem_key, -1, SQLITE_STATIC);
			int r = sqlite3_step(st);
			if (r == SQLITE_ROW) {
				const char *h = (const char *)sqlite3_column_text(st, 1);
				snprintf(existing, 40, "%s", (const char *)sqlite3_column_text(st, 0));
				*same_body = h && body_hash && strcmp(h, body_hash) == 0;
			} else if (r != SQLITE_DONE) {
				rc = lite_fail(l, 0, err);
			}
			lite_done(st);
		}
	}
	if (rc == SEG_OK && existing[0] == '\0') {
		if ((st = lite_stmt(l, sql_job_seq, err)) == NULL)
			rc = SEG_ESTORE;
		else if (sqlite3_step(st) == SQLITE_ROW)
			seq = sqlite3_column_int64(st, 0);
		else
			rc = lite_fail(l, 1, err);
		lite_done(st);
	}
	if (rc == SEG_OK && existing[0] == '\0') {
		if ((st = lite_stmt(l, sql_job_insert, err)) == NULL) {
			rc = SEG_ESTORE;
		} else {
			sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
			lite_bind_text(st, 2, idem_key);
			lite_bind_text(st, 3, body_hash);
			sqlite3_bind_int64(st, 4, j->created);
			sqlite3_bind_int(st, 5, j->total);
			sqlite3_bind_text(st, 6, j->content_type, -1, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 7, j->body, j->body_len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 8, seq);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = lite_fail(l, 1, err);
			lite_done(st);
		}
	}
	if (rc == SEG_OK)
		rc = lite_exec(l, "COMMIT", 1, err);
	if (rc != SEG_OK)
		lite_rollback(l);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

#define JOB_COLUMNS                                                                                                    \
	"SELECT id, status, created, started, finished, total, done, cancel, content_type, result, error, error_status, "

static const char sql_get_body[] = JOB_COLUMNS "body FROM jobs WHERE id = ?1";
static const char sql_get[] = JOB_COLUMNS "NULL FROM jobs WHERE id = ?1";
static const char sql_oldest[] = JOB_COLUMNS "body FROM jobs WHERE status = 0 ORDER BY created, rowid LIMIT 1";

static void read_job(sqlite3_stmt *st, store_job *j, int with_body)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", (const char *)sqlite3_column_text(st, 0));
	j->status = (store_job_status)sqlite3_column_int(st, 1);
	j->created = sqlite3_column_int64(st, 2);
	j->started = sqlite3_column_int64(st, 3);
	j->finished = sqlite3_column_int64(st, 4);
	j->total = sqlite3_column_int(st, 5);
	j->done = sqlite3_column_int(st, 6);
	j->cancel_requested = sqlite3_column_int(st, 7);
	j->content_type = (const char *)sqlite3_column_text(st, 8);
	j->result = (const char *)sqlite3_column_text(st, 9);
	j->error = (const char *)sqlite3_column_text(st, 10);
	j->error_status = sqlite3_column_int(st, 11);
	if (with_body) {
		j->body = sqlite3_column_blob(st, 12);
		j->body_len = (size_t)sqlite3_column_bytes(st, 12);
	}
}

seg_status lite_job_get(store *s, const char *id, int with_body, store_job_fn fn, void *ctx, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, with_body ? sql_get_body : sql_get, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			store_job j;
			read_job(st, &j, with_body);
			fn(ctx, &j);
		} else if (r == SQLITE_DONE) {
			rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
		} else {
			rc = lite_fail(l, 0, err);
		}
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* One row past the page tells whether an older job is left, and so whether there is a next page. */
static const char sql_list[] = "SELECT id, status, created, started, finished, total, done, cancel, content_type, "
			       "NULL, error, error_status, NULL, seq FROM jobs WHERE (?1 = 0 OR seq < ?1) AND "
			       "((1 << status) & ?2) != 0 ORDER BY seq DESC LIMIT ?3";

seg_status lite_jobs_list(store *s, const store_jobs_query *q, store_job_fn fn, void *ctx, int64_t *next,
			  seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int64_t last = 0;
	int r, n = 0;

	*next = 0;
	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, sql_list, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_int64(st, 1, q->before);
		sqlite3_bind_int(st, 2, (int)q->status_mask);
		sqlite3_bind_int(st, 3, q->limit + 1);
	}
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		store_job j;
		if (n == q->limit) { /* the row past the page: there is one */
			*next = last;
			r = SQLITE_DONE;
			break;
		}
		read_job(st, &j, 0);
		j.seq = sqlite3_column_int64(st, 13);
		last = j.seq;
		n++;
		fn(ctx, &j);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_claim[] = "UPDATE jobs SET status = 1, started = ?2, done = 0 WHERE id = ?1";

seg_status lite_job_claim(store *s, store_job_fn fn, void *ctx, int *found, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st = NULL, *up;
	seg_status rc;

	*found = 0;
	pthread_mutex_lock(&l->lock);
	rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK && (st = lite_stmt(l, sql_oldest, err)) == NULL)
		rc = SEG_ESTORE;
	if (rc == SEG_OK) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			store_job j;
			read_job(st, &j, 1);
			j.status = JOB_RUNNING;
			j.started = store_now_ms();
			j.done = 0;
			if ((up = lite_stmt(l, sql_claim, err)) == NULL) {
				rc = SEG_ESTORE;
			} else {
				sqlite3_bind_text(up, 1, j.id, -1, SQLITE_STATIC);
				sqlite3_bind_int64(up, 2, j.started);
				if (sqlite3_step(up) != SQLITE_DONE)
					rc = lite_fail(l, 1, err);
				lite_done(up);
			}
			if (rc == SEG_OK)
				rc = lite_exec(l, "COMMIT", 1, err);
			if (rc == SEG_OK) {
				*found = 1;
				fn(ctx, &j); /* the row is still the statement's until it is reset */
			}
		} else if (r != SQLITE_DONE) {
			rc = lite_fail(l, 0, err);
		}
	}
	lite_done(st);
	if (rc != SEG_OK || !*found)
		lite_rollback(l);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_progress[] = "UPDATE jobs SET done = ?2 WHERE id = ?1 AND status = 1 RETURNING cancel";

seg_status lite_job_progress(store *s, const char *id, int done, int *next, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	*next = STORE_JOB_GO;
	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, sql_progress, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, done);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*next = sqlite3_column_int(st, 0) ? STORE_JOB_CANCEL : STORE_JOB_GO;
		else if (r == SQLITE_DONE)
			*next = STORE_JOB_LOST;
		else
			rc = lite_fail(l, 1, err);
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_finish[] = "UPDATE jobs SET status = ?2, finished = ?3, result = ?4, error = ?5, error_status = ?6, "
				 "body = CASE WHEN ?2 = 2 THEN x'' ELSE body END, "
				 "done = CASE WHEN ?2 = 2 THEN total ELSE done END WHERE id = ?1 AND status = 1";

seg_status lite_job_finish(store *s, const char *id, store_job_status status, const char *result, const char *error,
			   int error_status, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, sql_finish, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, status);
		sqlite3_bind_int64(st, 3, store_now_ms());
		lite_bind_text(st, 4, result);
		lite_bind_text(st, 5, error);
		sqlite3_bind_int(st, 6, error_status);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = lite_fail(l, 1, err);
		else if (sqlite3_changes(l->db) == 0)
			rc = seg_fail(err, SEG_ECONFLICT, "job '%.40s' is no longer running here", id);
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_status[] = "SELECT status FROM jobs WHERE id = ?1";
static const char sql_cancel_queued[] = "UPDATE jobs SET status = 4, finished = ?2, body = x'' WHERE id = ?1";
static const char sql_cancel_running[] = "UPDATE jobs SET cancel = 1 WHERE id = ?1 AND ?2 = ?2";

seg_status lite_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc;

	pthread_mutex_lock(&l->lock);
	rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK && (st = lite_stmt(l, sql_status, err)) == NULL)
		rc = SEG_ESTORE;
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*was = (store_job_status)sqlite3_column_int(st, 0);
		else if (r == SQLITE_DONE)
			rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
		else
			rc = lite_fail(l, 0, err);
		lite_done(st);
	}
	if (rc == SEG_OK && (*was == JOB_QUEUED || *was == JOB_RUNNING)) {
		if ((st = lite_stmt(l, *was == JOB_QUEUED ? sql_cancel_queued : sql_cancel_running, err)) == NULL) {
			rc = SEG_ESTORE;
		} else {
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, store_now_ms());
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = lite_fail(l, 1, err);
			lite_done(st);
		}
	}
	if (rc == SEG_OK)
		rc = lite_exec(l, "COMMIT", 1, err);
	if (rc != SEG_OK)
		lite_rollback(l);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Runs a one-parameter write and gives the number of rows it changed. */
static seg_status count_changes(lite *l, const char *sql, int64_t arg, const char *text, int *count, seg_error *err)
{
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	*count = 0;
	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, sql, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		if (text)
			sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 1, arg);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = lite_fail(l, 1, err);
		else
			*count = sqlite3_changes(l->db);
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_requeue[] = "UPDATE jobs SET status = 0, started = 0, done = 0 WHERE status = 1 AND ?1 = ?1";
static const char sql_release[] = "UPDATE jobs SET status = 0, started = 0, done = 0 WHERE id = ?1 AND status = 1";
static const char sql_purge[] = "DELETE FROM jobs WHERE status >= 2 AND finished < ?1";

seg_status lite_job_requeue(store *s, int *count, seg_error *err)
{
	return count_changes((lite *)s, sql_requeue, 0, NULL, count, err);
}

seg_status lite_job_release(store *s, const char *id, seg_error *err)
{
	int n;

	return count_changes((lite *)s, sql_release, 0, id, &n, err);
}

seg_status lite_job_purge(store *s, int64_t before_ms, int *count, seg_error *err)
{
	return count_changes((lite *)s, sql_purge, before_ms, NULL, count, err);
}

static const char sql_counts[] = "SELECT status, COUNT(*) FROM jobs GROUP BY status";

seg_status lite_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r;

	memset(counts, 0, sizeof(int64_t) * JOB_STATUS_COUNT);
	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, sql_counts, err)) == NULL)
		rc = SEG_ESTORE;
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);
		if (k >= 0 && k < JOB_STATUS_COUNT)
			counts[k] = sqlite3_column_int64(st, 1);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}
