/*
 * check_store.c — the SQLite store on real files: migrations, runs and
 * their exact aggregates, cursors and ordering, comparisons, deletion,
 * the job queue's lifecycle, and the masks items keep (keep_masks).
 */
#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "store/store.h"
#include "testutil.h"

static char dir[64];
static char path[128];
static store *st;

static void setup(void)
{
	seg_error err = {0};

	snprintf(dir, sizeof(dir), "/tmp/check_store_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* A folder that does not exist yet: store_open creates it. */
	snprintf(path, sizeof(path), "%s/sub/dir/segloss.db", dir);
	st = store_open(path, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
}

static void teardown(void)
{
	char cmd[160];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void record(const char *run, const char *item, double bce, double iou)
{
	store_score s[2] = {{0, "bce", bce}, {1, "iou", iou}};
	seg_error err = {0};

	ck_assert_msg(store_record(st, run, item, 1000, 4, 3, s, 2, &err) == SEG_OK, "%s", err.msg);
}

typedef struct aggs {
	int n;
	store_agg a[8];
	char keys[8][32];
} aggs;

static void collect_agg(void *ctx, const store_agg *a)
{
	aggs *g = ctx;
	g->a[g->n] = *a;
	snprintf(g->keys[g->n], sizeof(g->keys[0]), "%s", a->key);
	g->a[g->n].key = g->keys[g->n];
	g->n++;
}

/* What store_item_mask hands back. */
typedef struct got_mask {
	char item[64];
	uint8_t data[64];
	size_t len;
	int calls;
} got_mask;

static void take_mask(void *ctx, const char *item, const uint8_t *data, size_t len)
{
	got_mask *g = ctx;
	snprintf(g->item, sizeof(g->item), "%s", item);
	ck_assert_uint_le(len, sizeof(g->data));
	memcpy(g->data, data, len);
	g->len = len;
	g->calls++;
}

static int64_t seq_of(const char *run, const char *item);

START_TEST(test_migrations_and_reopen)
{
	seg_error err = {0};
	sqlite3 *db;
	sqlite3_stmt *q;

	record("r", "a", 0.5, 0.9);
	store_close(st);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT MAX(version), COUNT(*) FROM schema_migrations", -1, &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(q, 0), 3); /* 1: runs, items, scores, jobs; 2: jobs.seq; 3: item_masks */
	ck_assert_int_eq(sqlite3_column_int(q, 1), 3);
	sqlite3_finalize(q);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	/* A database from a newer release is refused, not damaged. */
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(99, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(path, &err));
	ck_assert_str_eq(err.msg, "store: the database has schema version 99, newer than this seglossd (3)");
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	/* Reopening keeps the data and applies nothing twice. */
	st = store_open(path, &err);
	ck_assert_ptr_nonnull(st);
	store_run run;
	ck_assert_int_eq(store_get_run(st, "r", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 1);
	ck_assert_int_gt(store_size_bytes(st), 0);
}
END_TEST

/* Records values[i] as loss "x" of item i of run, one item each (NAN: null). */
static void record_values(const char *run, const double *values, int n)
{
	seg_error err = {0};

	for (int i = 0; i < n; i++) {
		char item[16];
		store_score sc = {0, "x", values[i]};
		snprintf(item, sizeof(item), "i%d", i);
		ck_assert_msg(store_record(st, run, item, 1000, 4, 3, &sc, 1, &err) == SEG_OK, "%s", err.msg);
	}
}

/* The one aggregate of run (its loss "x"). */
static store_agg agg_of(const char *run)
{
	aggs g = {0};
	seg_error err = {0};

	ck_assert_int_eq(store_aggregates(st, run, collect_agg, &g, &err), SEG_OK);
	ck_assert_int_eq(g.n, 1);
	return g.a[0];
}

/*
 * median, p05 and p95: a case checked by hand, nulls left out, then NumPy's
 * numpy.percentile on 64 random samples (tests/fixtures/percentiles.json,
 * from tests/ref/gen_percentiles.py), equal to the bit.
 */
START_TEST(test_percentiles_match_numpy)
{
	/*
	 * [4, 1, 3, 2, null]: sorted 1 2 3 4, n = 4. p05 at 0.05 * 3 = 0.15:
	 * 1 + 0.15 * 1 = 1.15; median at 1.5: 2.5; p95 at 2.85: 3.85.
	 */
	double hand[5] = {4, 1, 3, 2, NAN};
	record_values("hand", hand, 5);
	store_agg a = agg_of("hand");
	ck_assert_int_eq(a.count, 4);
	ck_assert_double_eq_tol(a.p05, 1.15, 1e-15);
	ck_assert_double_eq(a.median, 2.5);
	ck_assert_double_eq_tol(a.p95, 3.85, 1e-15);
	/* One value is every percentile; only nulls give none. */
	double one[2] = {NAN, -7.25};
	record_values("one", one, 2);
	a = agg_of("one");
	ck_assert(a.p05 == -7.25 && a.median == -7.25 && a.p95 == -7.25);
	double none[2] = {NAN, NAN};
	record_values("none", none, 2);
	a = agg_of("none");
	ck_assert_int_eq(a.count, 0);
	ck_assert(isnan(a.p05) && isnan(a.median) && isnan(a.p95));

	size_t len;
	char *text = (char *)tu_read_file("tests/fixtures/percentiles.json", &len);
	ck_assert_ptr_nonnull(text);
	cJSON *doc = cJSON_ParseWithLength(text, len), *c;
	ck_assert_ptr_nonnull(doc);
	int ncases = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases"))
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "name"));
		cJSON *vals = cJSON_GetObjectItem(c, "values"), *v;
		int n = cJSON_GetArraySize(vals), i = 0;
		double *x = malloc((size_t)n * sizeof(*x));
		cJSON_ArrayForEach(v, vals)
		{
			x[i++] = v->valuedouble;
		}
		record_values(name, x, n);
		a = agg_of(name);
		ck_assert_int_eq(a.count, n);
		const char *fields[3] = {"p05", "median", "p95"};
		double got[3] = {a.p05, a.median, a.p95};
		for (int k = 0; k < 3; k++) {
			double want = cJSON_GetObjectItem(c, fields[k])->valuedouble;
			ck_assert_msg(got[k] == want, "%s %s: %.17g, numpy %.17g", name, fields[k], got[k], want);
		}
		free(x);
		ncases++;
	}
	ck_assert_int_eq(ncases, 64);
	cJSON_Delete(doc);
	free(text);
}
END_TEST

START_TEST(test_replace_keeps_aggregates_exact)
{
	uint64_t rng = 5;
	double last[50][2];
	seg_error err = {0};

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 50; i++) {
			char item[16];
			snprintf(item, sizeof(item), "item-%d", i);
			double b = tu_uniform(&rng), u = tu_uniform(&rng);
			if (i % 7 == 3)
				u = NAN; /* null, not counted */
			record("run", item, b, u);
			last[i][0] = b;
			last[i][1] = u;
		}
	}
	aggs g = {0};
	ck_assert_int_eq(store_aggregates(st, "run", collect_agg, &g, &err), SEG_OK);
	ck_assert_int_eq(g.n, 2);
	for (int k = 0; k < 2; k++) {
		double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
		int n = 0;
		for (int i = 0; i < 50; i++) {
			double v = last[i][k];
			if (isnan(v))
				continue;
			n++;
			sum += v;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		double mean = sum / n;
		for (int i = 0; i < 50; i++)
			if (!isnan(last[i][k]))
				sq += (last[i][k] - mean) * (last[i][k] - mean);
		ck_assert_str_eq(g.a[k].key, k == 0 ? "bce" : "iou");
		ck_assert_int_eq(g.a[k].count, n);
		ck_assert_double_eq_tol(g.a[k].mean, mean, 1e-12);
		ck_assert_double_eq_tol(g.a[k].std, sqrt(sq / n), 1e-12);
		ck_assert_double_eq(g.a[k].min, lo);
		ck_assert_double_eq(g.a[k].max, hi);
	}
	store_run run;
	ck_assert_int_eq(store_get_run(st, "run", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 50);
}
END_TEST

typedef struct items {
	int n;
	int64_t seq[64];
	char name[64][16];
	double bce[64];
} items;

static void collect_item(void *ctx, const store_item *it)
{
	items *c = ctx;
	c->seq[c->n] = it->seq;
	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", it->item);
	c->bce[c->n] = NAN;
	for (size_t i = 0; i < it->nscores; i++)
		if (it->scores[i].kind == 0 && strcmp(it->scores[i].key, "bce") == 0)
			c->bce[c->n] = it->scores[i].value;
	c->n++;
}

START_TEST(test_cursor_and_ordering)
{
	seg_error err = {0};
	int64_t next;
	items c = {0};

	record("r", "a", 0.3, 1);
	record("r", "b", NAN, 1);
	record("r", "c", 0.1, 1);
	record("r", "d", 0.7, 1);
	store_items_query q = {0, 2, 0, NULL, 0};
	ck_assert_int_eq(store_items(st, "r", &q, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(next, 2);
	ck_assert_str_eq(c.name[1], "b");
	/* Replacing "a" gives it a new seq: a poller after 2 sees c, d, then a again. */
	record("r", "a", 0.9, 1);
	memset(&c, 0, sizeof(c));
	q.after = next;
	q.limit = 100;
	ck_assert_int_eq(store_items(st, "r", &q, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(c.name[2], "a");
	ck_assert_int_eq(c.seq[2], 5);
	ck_assert_int_eq(next, 5);
	/* Nothing new: the cursor stays. */
	memset(&c, 0, sizeof(c));
	q.after = next;
	ck_assert_int_eq(store_items(st, "r", &q, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(next, 5);
	/* Worst first; nulls last in both directions. */
	store_items_query o = {0, 10, 0, "bce", 1};
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_items(st, "r", &o, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_str_eq(c.name[0], "a");
	ck_assert_str_eq(c.name[1], "d");
	ck_assert_str_eq(c.name[3], "b");
	o.desc = 0;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_items(st, "r", &o, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_str_eq(c.name[0], "c");
	ck_assert_str_eq(c.name[3], "b");
}
END_TEST

typedef struct pairs {
	int n;
	char item[8][16];
	double a[8], b[8];
} pairs;

static void collect_pair(void *ctx, const store_pair *p)
{
	pairs *c = ctx;
	if (p->kind != 0)
		return;
	snprintf(c->item[c->n], sizeof(c->item[0]), "%s", p->item);
	c->a[c->n] = p->a;
	c->b[c->n] = p->b;
	c->n++;
}

START_TEST(test_compare_and_delete)
{
	seg_error err = {0};
	pairs c = {0};
	int64_t v1, v2, v3;

	record("base", "x", 0.5, 1);
	record("base", "y", 0.4, 1);
	record("new", "y", 0.1, 1);
	record("new", "z", 0.2, 1);
	ck_assert_int_eq(store_compare(st, "base", "new", collect_pair, &c, &err), SEG_OK);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.item[0], "y");
	ck_assert_double_eq(c.a[0], 0.4);
	ck_assert_double_eq(c.b[0], 0.1);
	double mean;
	int64_t count;
	ck_assert_int_eq(store_key_mean(st, "base", 0, "bce", &mean, &count, &err), SEG_OK);
	ck_assert_double_eq_tol(mean, 0.45, 1e-15);
	ck_assert_int_eq(count, 2);

	ck_assert_int_eq(store_version(st, NULL, &v1, &err), SEG_OK);
	ck_assert_int_eq(store_delete_run(st, "base", &err), SEG_OK);
	ck_assert_int_eq(store_version(st, NULL, &v2, &err), SEG_OK);
	ck_assert_int_gt(v2, v1);
	store_run run;
	ck_assert_int_eq(store_get_run(st, "base", &run, &err), SEG_ENOTFOUND);
	ck_assert_int_eq(store_delete_run(st, "base", &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no run 'base'");
	/* Recreated, the run's version is new: an old ETag cannot match. */
	record("base", "x", 0.5, 1);
	ck_assert_int_eq(store_version(st, "base", &v3, &err), SEG_OK);
	ck_assert_int_gt(v3, v2);
	/* Names are bound, never spliced into SQL. */
	record("x'; DROP TABLE runs; --", "it'em\"", 0.1, 0.2);
	ck_assert_int_eq(store_get_run(st, "x'; DROP TABLE runs; --", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 1);
}
END_TEST

typedef struct seen_job {
	char id[40];
	store_job_status status;
	int total, done;
	char body[64];
	char result[64];
} seen_job;

static void collect_job(void *ctx, const store_job *j)
{
	seen_job *s = ctx;
	snprintf(s->id, sizeof(s->id), "%s", j->id);
	s->status = j->status;
	s->total = j->total;
	s->done = j->done;
	snprintf(s->body, sizeof(s->body), "%.*s", (int)j->body_len, j->body ? (const char *)j->body : "");
	snprintf(s->result, sizeof(s->result), "%s", j->result ? j->result : "");
}

static void insert_job(const char *id, const char *body, const char *key, const char *hash, int64_t created)
{
	store_job j = {0};
	char existing[40];
	int same;
	seg_error err = {0};

	snprintf(j.id, sizeof(j.id), "%s", id);
	j.created = created;
	j.total = 2;
	j.content_type = "application/json";
	j.body = (const uint8_t *)body;
	j.body_len = strlen(body);
	ck_assert_int_eq(store_job_insert(st, &j, key, hash, existing, &same, &err), SEG_OK);
	ck_assert_str_eq(existing, "");
}

START_TEST(test_job_lifecycle)
{
	seg_error err = {0};
	seen_job s;
	int found, cancel, n;
	char existing[40];
	int same;
	int64_t counts[JOB_STATUS_COUNT];

	insert_job("job1", "{\"a\":1}", "key-1", "h1", 100);
	insert_job("job2", "{\"b\":2}", NULL, NULL, 200);
	/* The same idempotency key: nothing inserted, the first job named, bodies compared. */
	store_job j = {.id = "job3", .created = 300, .total = 1, .content_type = "x", .body = (const uint8_t *)"", .body_len = 0};
	ck_assert_int_eq(store_job_insert(st, &j, "key-1", "h1", existing, &same, &err), SEG_OK);
	ck_assert_str_eq(existing, "job1");
	ck_assert_int_eq(same, 1);
	ck_assert_int_eq(store_job_insert(st, &j, "key-1", "other", existing, &same, &err), SEG_OK);
	ck_assert_int_eq(same, 0);
	ck_assert_int_eq(store_job_get(st, "job3", 0, collect_job, &s, &err), SEG_ENOTFOUND);

	/* Claims go oldest first, with the body. */
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_str_eq(s.id, "job1");
	ck_assert_str_eq(s.body, "{\"a\":1}");
	ck_assert_int_eq(s.status, JOB_RUNNING);
	ck_assert_int_eq(store_job_progress(st, "job1", 1, &cancel, &err), SEG_OK);
	ck_assert_int_eq(cancel, 0);
	store_job_status was;
	ck_assert_int_eq(store_job_cancel(st, "job1", &was, &err), SEG_OK);
	ck_assert_int_eq(was, JOB_RUNNING);
	ck_assert_int_eq(store_job_progress(st, "job1", 2, &cancel, &err), SEG_OK);
	ck_assert_int_eq(cancel, 1);
	ck_assert_int_eq(store_job_finish(st, "job1", JOB_CANCELED, NULL, NULL, 0, &err), SEG_OK);

	/* A crash while running: requeue puts it back. */
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_str_eq(s.id, "job2");
	ck_assert_int_eq(store_job_requeue(st, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_job_get(st, "job2", 0, collect_job, &s, &err), SEG_OK);
	ck_assert_int_eq(s.status, JOB_QUEUED);
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(store_job_finish(st, "job2", JOB_DONE, "{\"ok\":true}", NULL, 0, &err), SEG_OK);
	ck_assert_int_eq(store_job_get(st, "job2", 1, collect_job, &s, &err), SEG_OK);
	ck_assert_int_eq(s.status, JOB_DONE);
	ck_assert_int_eq(s.done, s.total);
	ck_assert_str_eq(s.result, "{\"ok\":true}");
	ck_assert_str_eq(s.body, ""); /* the input is dropped once done */
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(store_job_cancel(st, "job2", &was, &err), SEG_OK);
	ck_assert_int_eq(was, JOB_DONE);

	ck_assert_int_eq(store_job_counts(st, counts, &err), SEG_OK);
	ck_assert_int_eq(counts[JOB_DONE], 1);
	ck_assert_int_eq(counts[JOB_CANCELED], 1);
	/* Purge: only finished jobs that finished before the cut. */
	ck_assert_int_eq(store_job_purge(st, 0, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_job_purge(st, INT64_MAX, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_job_get(st, "job2", 0, collect_job, &s, &err), SEG_ENOTFOUND);
}
END_TEST

typedef struct listed {
	int n;
	char ids[16][40];
	int64_t seq[16];
	int had_result;
} listed;

static void collect_listed(void *ctx, const store_job *j)
{
	listed *l = ctx;
	ck_assert_int_lt(l->n, 16);
	snprintf(l->ids[l->n], sizeof(l->ids[0]), "%s", j->id);
	l->seq[l->n] = j->seq;
	l->had_result |= j->result != NULL;
	l->n++;
}

/* Lists jobs per q into *l; returns the next cursor. */
static int64_t list_jobs(unsigned mask, int64_t before, int limit, listed *l)
{
	store_jobs_query q = {mask, before, limit};
	int64_t next = -1;
	seg_error err = {0};

	memset(l, 0, sizeof(*l));
	ck_assert_msg(store_jobs_list(st, &q, collect_listed, l, &next, &err) == SEG_OK, "%s", err.msg);
	return next;
}

#define ALL_JOBS ((1u << JOB_STATUS_COUNT) - 1)

/* Newest first, by status, in pages whose cursor never skips or repeats a job. */
START_TEST(test_jobs_list)
{
	seg_error err = {0};
	seen_job s;
	int found;
	listed l, page;
	char id[8];

	/* Created out of order on purpose: submission order, not the clock, is the order. */
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		insert_job(id, "{}", NULL, NULL, 1000 - i);
	}
	ck_assert_int_eq(list_jobs(ALL_JOBS, 0, 100, &l), 0);
	ck_assert_int_eq(l.n, 7);
	for (int i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "j%d", 6 - i);
		ck_assert_str_eq(l.ids[i], id);
		ck_assert_int_eq(l.seq[i], 7 - i);
	}
	/* Pages of 3: j6 j5 j4 | j3 j2 j1 | j0, then no cursor. */
	int64_t next = list_jobs(ALL_JOBS, 0, 3, &page);
	ck_assert_int_eq(page.n, 3);
	ck_assert_int_eq(next, page.seq[2]);
	next = list_jobs(ALL_JOBS, next, 3, &page);
	ck_assert_str_eq(page.ids[0], "j3");
	ck_assert_str_eq(page.ids[2], "j1");
	next = list_jobs(ALL_JOBS, next, 3, &page);
	ck_assert_int_eq(page.n, 1);
	ck_assert_str_eq(page.ids[0], "j0");
	ck_assert_int_eq(next, 0);
	/* A page that ends exactly at the oldest job has no cursor either. */
	ck_assert_int_eq(list_jobs(ALL_JOBS, 0, 7, &page), 0);
	/* By status: the oldest by created (j6) runs and fails, the next (j5) is done, with a result the list leaves out. */
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_str_eq(s.id, "j6"); /* the oldest by created */
	ck_assert_int_eq(store_job_finish(st, "j6", JOB_FAILED, NULL, "bad", 422, &err), SEG_OK);
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(store_job_finish(st, s.id, JOB_DONE, "{\"ok\":1}", NULL, 0, &err), SEG_OK);
	ck_assert_int_eq(list_jobs(1u << JOB_FAILED, 0, 100, &page), 0);
	ck_assert_int_eq(page.n, 1);
	ck_assert_str_eq(page.ids[0], "j6");
	ck_assert_int_eq(list_jobs((1u << JOB_FAILED) | (1u << JOB_DONE), 0, 100, &page), 0);
	ck_assert_int_eq(page.n, 2);
	ck_assert_int_eq(page.had_result, 0);
	ck_assert_int_eq(list_jobs(1u << JOB_QUEUED, 0, 100, &page), 0);
	ck_assert_int_eq(page.n, 5);
	/* A job submitted after a page was read comes before it, never inside a later page. */
	next = list_jobs(ALL_JOBS, 0, 4, &page);
	insert_job("j7", "{}", NULL, NULL, 1);
	list_jobs(ALL_JOBS, next, 4, &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.ids[0], "j2");
	/* A purged newest job does not give its number away again. */
	ck_assert_int_eq(store_job_cancel(st, "j7", &(store_job_status){0}, &err), SEG_OK);
	int n;
	ck_assert_int_eq(store_job_purge(st, INT64_MAX, &n, &err), SEG_OK);
	insert_job("j8", "{}", NULL, NULL, 2);
	list_jobs(ALL_JOBS, 0, 1, &page);
	ck_assert_str_eq(page.ids[0], "j8");
	ck_assert_int_eq(page.seq[0], 9);
}
END_TEST

/* A database of schema 1 (jobs without seq) is upgraded in place: its jobs numbered in the order they came. */
START_TEST(test_upgrade_numbers_old_jobs)
{
	seg_error err = {0};
	sqlite3 *db;
	listed l;

	insert_job("old-a", "{}", NULL, NULL, 100);
	insert_job("old-b", "{}", NULL, NULL, 50);
	store_close(st);
	/* Back to schema 1, as a file written by the previous release. */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "DROP TABLE item_masks; DROP INDEX jobs_seq; ALTER TABLE jobs DROP COLUMN seq; DELETE FROM "
				      "meta WHERE key = 'job_seq'; DELETE FROM schema_migrations WHERE version >= 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	st = store_open(path, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	insert_job("new-c", "{}", NULL, NULL, 10);
	ck_assert_int_eq(list_jobs(ALL_JOBS, 0, 100, &l), 0);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.ids[0], "new-c");
	ck_assert_int_eq(l.seq[0], 3);
	ck_assert_str_eq(l.ids[1], "old-b");
	ck_assert_int_eq(l.seq[1], 2);
	ck_assert_str_eq(l.ids[2], "old-a");
	ck_assert_int_eq(l.seq[2], 1);
}
END_TEST

typedef struct find_seq {
	const char *item;
	int64_t seq;
} find_seq;

static void on_item(void *ctx, const store_item *it)
{
	find_seq *f = ctx;
	if (strcmp(it->item, f->item) == 0)
		f->seq = it->seq;
}

static int64_t seq_of(const char *run, const char *item)
{
	store_items_query q = {0, 1000, 0, NULL, 0};
	find_seq f = {item, 0};
	int64_t next;
	seg_error err = {0};

	ck_assert_int_eq(store_items(st, run, &q, on_item, &f, &next, &err), SEG_OK);
	return f.seq;
}

/*
 * keep_masks: an item's masks are kept with its scores, served by its
 * current seq, dropped when it is posted again or its run deleted, and
 * refused (scores kept) past the run's cap; the errors say which thing
 * is missing.
 */
START_TEST(test_kept_masks)
{
	store_score sc = {STORE_LOSS, "bce", 0.25};
	store_masks m = {(const uint8_t *)"TARGET", 6, (const uint8_t *)"PREDICTION-1", 12};
	got_mask g = {0};
	seg_error err = {0};
	uint64_t held;
	int kept;
	int64_t s1, s2;

	ck_assert_int_eq(store_record_masks(st, "r", "a/b", 1000, 4, 3, &sc, 1, &m, 100, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_uint_eq(held, 0);
	s1 = seq_of("r", "a/b");
	ck_assert_int_eq(store_item_mask(st, "r", s1, 0, take_mask, &g, &err), SEG_OK);
	ck_assert_str_eq(g.item, "a/b");
	ck_assert_uint_eq(g.len, 6);
	ck_assert_int_eq(memcmp(g.data, "TARGET", 6), 0);
	ck_assert_int_eq(store_item_mask(st, "r", s1, 1, take_mask, &g, &err), SEG_OK);
	ck_assert_uint_eq(g.len, 12);
	ck_assert_int_eq(memcmp(g.data, "PREDICTION-1", 12), 0);

	/* Posted again: a new seq with the new masks; the old seq is gone, and its bytes no longer count. */
	m.prediction = (const uint8_t *)"PREDICTION-2";
	ck_assert_int_eq(store_record_masks(st, "r", "a/b", 2000, 4, 3, &sc, 1, &m, 100, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_uint_eq(held, 0);
	s2 = seq_of("r", "a/b");
	ck_assert_int_gt(s2, s1);
	ck_assert_int_eq(store_item_mask(st, "r", s1, 0, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "run 'r' has no item with seq 1 (an item posted again takes a new seq)");
	ck_assert_int_eq(store_item_mask(st, "r", s2, 1, take_mask, &g, &err), SEG_OK);
	ck_assert_int_eq(memcmp(g.data, "PREDICTION-2", 12), 0);

	/* The run's cap: 18 bytes held, 18 more would pass 30; the scores are recorded all the same. */
	ck_assert_int_eq(store_record_masks(st, "r", "c", 3000, 4, 3, &sc, 1, &m, 30, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(held, 18);
	ck_assert_int_gt(seq_of("r", "c"), s2);
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "c"), 0, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "item 'c' (seq 3) of run 'r' was recorded without its masks (send \"keep_masks\": true)");
	/* A plain store_record keeps none either. */
	record("r", "d", 0.5, 0.5);
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "d"), 1, take_mask, &g, &err), SEG_ENOTFOUND);

	/* Deleting the run drops its masks; a new run of that name starts empty. */
	ck_assert_int_eq(store_delete_run(st, "r", &err), SEG_OK);
	ck_assert_int_eq(store_item_mask(st, "r", s2, 0, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no run 'r'");
	ck_assert_int_eq(store_record_masks(st, "r", "a/b", 4000, 4, 3, &sc, 1, &m, 18, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_uint_eq(held, 0);
	ck_assert_int_eq(g.calls, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("sqlite");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120); /* thousands of committed writes, under sanitizers too */
	tcase_add_test(tc, test_migrations_and_reopen);
	tcase_add_test(tc, test_replace_keeps_aggregates_exact);
	tcase_add_test(tc, test_percentiles_match_numpy);
	tcase_add_test(tc, test_cursor_and_ordering);
	tcase_add_test(tc, test_compare_and_delete);
	tcase_add_test(tc, test_job_lifecycle);
	tcase_add_test(tc, test_jobs_list);
	tcase_add_test(tc, test_upgrade_numbers_old_jobs);
	tcase_add_test(tc, test_kept_masks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
