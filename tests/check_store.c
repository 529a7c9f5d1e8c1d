/*
 * check_store.c — the store, on both backends: SQLite on real files, and
 * PostgreSQL on the server of SEGLOSS_TEST_PG (tests/scripts/pg.sh; the
 * "postgres" cases are left out when it is not set, `make check-pg`
 * runs them). The same cases run on each: runs and their exact
 * aggregates under replacement and concurrent writers, cursors and
 * ordering, comparisons, deletion, the job queue's lifecycle and listing,
 * and the masks items keep (keep_masks).
 * Then what only one of them has: SQLite's migrations and upgrades in
 * place; PostgreSQL's migrations, two daemons on one database, leases
 * renewed while a job runs and taken over when they end, the purge one
 * daemon at a time, an unreachable server, a restarted one, and
 * addresses that must not leak a password. And the exact sums (exact.c)
 * on their own.
 */
#include <check.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "store/exact.h"
#include "store/store.h"
#include "testpg.h"
#include "testutil.h"

static int is_pg;
static char dir[64];
static char where[1024]; /* the SQLite path or the PostgreSQL address of this test */
static store *st;

static store *open_where(void)
{
	seg_error err = {0};
	store *s = store_open(where, &err);

	ck_assert_msg(s != NULL, "%s", err.msg);
	return s;
}

static void setup_sqlite(void)
{
	is_pg = 0;
	snprintf(dir, sizeof(dir), "/tmp/check_store_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* A folder that does not exist yet: store_open creates it. */
	snprintf(where, sizeof(where), "%s/sub/dir/segloss.db", dir);
	st = open_where();
}

static void setup_pg(void)
{
	is_pg = 1;
	ck_assert_int_eq(tpg_create(where, sizeof(where)), 0);
	st = open_where();
}

static void teardown(void)
{
	char cmd[160];

	store_close(st);
	st = NULL;
	if (is_pg) {
		tpg_drop(where);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static void record_in(store *s, const char *run, const char *item, double bce, double iou)
{
	store_score sc[2] = {{0, "bce", bce}, {1, "iou", iou}};
	seg_error err = {0};

	ck_assert_msg(store_record(s, run, item, 1000, 4, 3, sc, 2, &err) == SEG_OK, "%s", err.msg);
}

static void record(const char *run, const char *item, double bce, double iou)
{
	record_in(st, run, item, bce, iou);
}

/* A run's aggregates, copied: the names are in keys[] (a[].key points into whichever copy filled it). */
typedef struct aggs {
	int n;
	store_agg a[16];
	char keys[16][32];
} aggs;

static void collect_agg(void *ctx, const store_agg *a)
{
	aggs *g = ctx;
	ck_assert_int_lt(g->n, 16);
	g->a[g->n] = *a;
	snprintf(g->keys[g->n], sizeof(g->keys[0]), "%s", a->key);
	g->a[g->n].key = g->keys[g->n];
	g->n++;
}

static aggs aggregates_of(store *s, const char *run)
{
	aggs g = {0};
	seg_error err = {0};

	ck_assert_msg(store_aggregates(s, run, collect_agg, &g, &err) == SEG_OK, "%s", err.msg);
	return g;
}

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
	aggs g = aggregates_of(st, run);

	ck_assert_int_eq(g.n, 1);
	return g.a[0];
}

/* ---- on both backends ------------------------------------------------------------------ */

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
	ck_assert_double_eq(a.sum, 10);
	/* One value is every percentile; only nulls give none. */
	double one[2] = {NAN, -7.25};
	record_values("one", one, 2);
	a = agg_of("one");
	ck_assert(a.p05 == -7.25 && a.median == -7.25 && a.p95 == -7.25);
	ck_assert(a.min == -7.25 && a.max == -7.25 && a.mean == -7.25 && a.std == 0);
	double none[2] = {NAN, NAN};
	record_values("none", none, 2);
	a = agg_of("none");
	ck_assert_int_eq(a.count, 0);
	ck_assert(isnan(a.p05) && isnan(a.median) && isnan(a.p95));
	ck_assert(isnan(a.mean) && isnan(a.std) && isnan(a.min) && isnan(a.max));
	ck_assert(a.sum == 0);
	/* Without the percentiles: the kept part alone. */
	aggs g = {0};
	seg_error err = {0};
	ck_assert_int_eq(store_aggregates_kept(st, "hand", collect_agg, &g, &err), SEG_OK);
	ck_assert_int_eq(g.n, 1);
	ck_assert(isnan(g.a[0].median) && g.a[0].count == 4 && g.a[0].max == 4);

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

/* Mean, std (two-pass), min, max and sum of the non-null v[0..n), in long double. */
typedef struct ref {
	int n;
	double mean, std, min, max, sum;
} ref;

static ref reference(const double *v, int n)
{
	long double sum = 0, sq = 0;
	ref r = {0, NAN, NAN, INFINITY, -INFINITY, 0};

	for (int i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		r.n++;
		sum += v[i];
		r.min = v[i] < r.min ? v[i] : r.min;
		r.max = v[i] > r.max ? v[i] : r.max;
	}
	long double mean = sum / r.n;
	for (int i = 0; i < n; i++)
		if (!isnan(v[i]))
			sq += (v[i] - mean) * (v[i] - mean);
	r.mean = (double)mean;
	r.std = (double)sqrtl(sq / r.n);
	r.sum = (double)sum;
	return r;
}

/* a's key pointer is not read: aggs copies keep their names in keys[]. */
static void check_ref(const store_agg *a, const ref *r)
{
	ck_assert_int_eq(a->count, r->n);
	ck_assert_msg(tu_close(a->mean, r->mean, 1e-14, 0), "mean %.17g, recomputed %.17g", a->mean, r->mean);
	ck_assert_msg(tu_close(a->std, r->std, 1e-12, 0), "std %.17g, recomputed %.17g", a->std, r->std);
	ck_assert_msg(tu_close(a->sum, r->sum, 1e-14, 0), "sum %.17g, recomputed %.17g", a->sum, r->sum);
	ck_assert_double_eq(a->min, r->min);
	ck_assert_double_eq(a->max, r->max);
}

START_TEST(test_replace_keeps_aggregates_exact)
{
	uint64_t rng = 5;
	double last[2][50];
	seg_error err = {0};

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 50; i++) {
			char item[16];
			snprintf(item, sizeof(item), "item-%d", i);
			double b = tu_uniform(&rng), u = tu_uniform(&rng);
			if (i % 7 == 3)
				u = NAN; /* null, not counted */
			record("run", item, b, u);
			last[0][i] = b;
			last[1][i] = u;
		}
	}
	aggs g = aggregates_of(st, "run");
	ck_assert_int_eq(g.n, 2);
	for (int k = 0; k < 2; k++) {
		ref r = reference(last[k], 50);
		ck_assert_str_eq(g.keys[k], k == 0 ? "bce" : "iou");
		check_ref(&g.a[k], &r);
	}
	store_run run;
	ck_assert_int_eq(store_get_run(st, "run", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 50);
}
END_TEST

/*
 * Exact, not close: a run whose items went through rounds of replacement
 * has the same aggregates, to the bit, as a run that got the final
 * values once, in another order. The values are hard on naive sums: a
 * large offset with small differences (the textbook variance formula
 * loses every digit), tiny ones, and integer counts near 2^50.
 */
START_TEST(test_history_does_not_matter)
{
	enum { N = 60 };
	uint64_t rng = 77;
	double final[3][N];
	seg_error err = {0};

	for (int round = 0; round < 4; round++)
		for (int i = 0; i < N; i++) {
			char item[16];
			snprintf(item, sizeof(item), "k%d", i);
			store_score sc[3] = {{0, "offset", 1e8 + tu_uniform(&rng)},
					     {1, "tiny", tu_uniform(&rng) * 1e-300},
					     {3, "tp.cat", (double)((tu_rand(&rng) >> 14) | 1)}};
			if (round == 3 && i % 9 == 0)
				sc[1].value = NAN;
			for (int k = 0; k < 3; k++)
				final[k][i] = sc[k].value;
			ck_assert_msg(store_record(st, "churned", item, 1000, 1, 1, sc, 3, &err) == SEG_OK, "%s", err.msg);
		}
	for (int j = N - 1; j >= 0; j--) {
		char item[16];
		snprintf(item, sizeof(item), "k%d", j);
		store_score sc[3] = {{0, "offset", final[0][j]}, {1, "tiny", final[1][j]}, {3, "tp.cat", final[2][j]}};
		ck_assert_msg(store_record(st, "fresh", item, 1000, 1, 1, sc, 3, &err) == SEG_OK, "%s", err.msg);
	}
	aggs a = aggregates_of(st, "churned"), b = aggregates_of(st, "fresh");
	ck_assert_int_eq(a.n, 3);
	ck_assert_int_eq(b.n, 3);
	for (int k = 0; k < 3; k++) {
		ck_assert_str_eq(a.keys[k], b.keys[k]);
		ck_assert_int_eq(a.a[k].kind, b.a[k].kind);
		ck_assert_int_eq(a.a[k].count, b.a[k].count);
		ck_assert(a.a[k].mean == b.a[k].mean && a.a[k].std == b.a[k].std && a.a[k].sum == b.a[k].sum);
		ck_assert(a.a[k].min == b.a[k].min && a.a[k].max == b.a[k].max);
		ck_assert(a.a[k].median == b.a[k].median && a.a[k].p05 == b.a[k].p05 && a.a[k].p95 == b.a[k].p95);
	}
	/* In kind order, an opaque integer to the store. */
	ck_assert_str_eq(a.keys[0], "offset");
	ck_assert_str_eq(a.keys[1], "tiny");
	ck_assert_str_eq(a.keys[2], "tp.cat");
	ck_assert_int_eq(a.a[2].kind, 3);
	/* Counts sum exactly: the sum is an integer below 2^53 and equals the plain one. */
	uint64_t total = 0;
	for (int i = 0; i < N; i++)
		total += (uint64_t)final[2][i];
	ck_assert(a.a[2].sum == (double)total);
	/* The offset's std against a recomputation in long double: the naive formula would give 0 or garbage. */
	ref r = reference(final[0], N);
	check_ref(&a.a[0], &r);
	r = reference(final[1], N);
	check_ref(&a.a[1], &r);
}
END_TEST

/* Min and max come back from the index when the item holding them is replaced; a key no item has goes away. */
START_TEST(test_extremes_replaced)
{
	seg_error err = {0};

	record("ex", "a", 0.1, 5);
	record("ex", "b", 0.5, 6);
	record("ex", "c", 0.9, 7);
	aggs g = aggregates_of(st, "ex");
	ck_assert(g.a[0].min == 0.1 && g.a[0].max == 0.9);
	record("ex", "a", 0.4, 5); /* the min goes */
	record("ex", "c", 0.45, 7); /* the max goes */
	g = aggregates_of(st, "ex");
	ck_assert_msg(g.a[0].min == 0.4 && g.a[0].max == 0.5, "min %g max %g", g.a[0].min, g.a[0].max);
	ck_assert_double_eq_tol(g.a[0].mean, (0.4 + 0.5 + 0.45) / 3, 1e-16);
	/* b without iou: its key keeps the others; an item with only a new key. */
	store_score only = {0, "bce", 0.2};
	ck_assert_int_eq(store_record(st, "ex", "b", 1000, 4, 3, &only, 1, &err), SEG_OK);
	g = aggregates_of(st, "ex");
	ck_assert_int_eq(g.n, 2);
	ck_assert_int_eq(g.a[1].count, 2);
	ck_assert(g.a[1].min == 5 && g.a[1].max == 7);
	ck_assert(g.a[0].min == 0.2);
	/* Every item drops iou: the key is gone from the run. */
	ck_assert_int_eq(store_record(st, "ex", "a", 1000, 4, 3, &only, 1, &err), SEG_OK);
	ck_assert_int_eq(store_record(st, "ex", "c", 1000, 4, 3, &only, 1, &err), SEG_OK);
	g = aggregates_of(st, "ex");
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.keys[0], "bce");
	ck_assert(g.a[0].min == 0.2 && g.a[0].max == 0.2 && g.a[0].std == 0);
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
	ck_assert(isnan(c.bce[1]));
	/* Values come back as the same doubles. */
	ck_assert(c.bce[0] == 0.3);
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
	/* Newest first: seqs 5 (a), 4 (d), 3 (c); the old seq of a is gone; next is still the largest. */
	store_items_query n = {0, 3, 0, NULL, 1};
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_items(st, "r", &n, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(c.name[0], "a");
	ck_assert_int_eq(c.seq[0], 5);
	ck_assert_str_eq(c.name[1], "d");
	ck_assert_str_eq(c.name[2], "c");
	ck_assert_int_eq(next, 5);
	/* ... only those after the cursor. */
	n.after = 3;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_items(st, "r", &n, collect_item, &c, &next, &err), SEG_OK);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.seq[1], 4);
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

typedef struct names {
	int n;
	char name[8][160];
} names;

static void collect_run(void *ctx, const store_run *r)
{
	names *c = ctx;
	snprintf(c->name[c->n++], sizeof(c->name[0]), "%s", r->name);
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
	ck_assert_int_eq(store_key_mean(st, "base", 0, "nokey", &mean, &count, &err), SEG_OK);
	ck_assert_int_eq(count, 0);

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
	/* Names are bound, never spliced into SQL; they sort byte by byte. */
	record("x'; DROP TABLE runs; --", "it'em\"", 0.1, 0.2);
	ck_assert_int_eq(store_get_run(st, "x'; DROP TABLE runs; --", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 1);
	record("Zeta", "a", 0.1, 0.2);
	names l = {0};
	ck_assert_int_eq(store_list_runs(st, collect_run, &l, &err), SEG_OK);
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.name[0], "Zeta");
	ck_assert_str_eq(l.name[1], "base");
	ck_assert_str_eq(l.name[3], "x'; DROP TABLE runs; --");
}
END_TEST

/* ---- many writers at once -------------------------------------------------------------------- */

enum { WRITERS = 4, PER_WRITER = 150 };

typedef struct writer_arg {
	store *s;
	int t;
	double last[PER_WRITER];
} writer_arg;

static void *writer_main(void *opaque)
{
	writer_arg *w = opaque;
	uint64_t rng = 1000 + (uint64_t)w->t;
	seg_error err = {0};

	for (int i = 0; i < PER_WRITER; i++) {
		char item[32];
		/* Every item of writer t also written by writer t+1 (mod WRITERS), which replaces it. */
		for (int rep = 0; rep < (i % 5 == 0 ? 2 : 1); rep++) {
			int owner = rep ? (w->t + 1) % WRITERS : w->t;
			snprintf(item, sizeof(item), "w%d-%d", owner, i);
			store_score sc = {0, "x", tu_uniform(&rng)};
			if (store_record(w->s, "conc", item, 1000, 1, 1, &sc, 1, &err) != SEG_OK)
				return strdup(err.msg);
		}
	}
	return NULL;
}

typedef struct poller_arg {
	store *s;
	atomic_int *stop;
	int64_t last_seq;
	int64_t *seen; /* item index -> seq last seen */
	int bad;
	char why[160];
} poller_arg;

static void poll_item(void *ctx, const store_item *it)
{
	poller_arg *p = ctx;
	int t, i;

	if (it->seq <= p->last_seq && !p->bad) {
		p->bad = 1;
		snprintf(p->why, sizeof(p->why), "seq %lld after %lld", (long long)it->seq, (long long)p->last_seq);
	}
	p->last_seq = it->seq;
	if (sscanf(it->item, "w%d-%d", &t, &i) == 2)
		p->seen[t * PER_WRITER + i] = it->seq;
}

/* Polls the cursor until told to stop, then until a page comes back empty. */
static void *poller_main(void *opaque)
{
	poller_arg *p = opaque;
	seg_error err = {0};

	for (int stopped = 0;;) {
		int64_t next, before = p->last_seq;
		store_items_query q = {p->last_seq, 37, 0, NULL, 0};
		if (store_items(p->s, "conc", &q, poll_item, p, &next, &err) != SEG_OK && err.status != SEG_ENOTFOUND)
			return strdup(err.msg);
		if (stopped && p->last_seq == before)
			break;
		stopped = atomic_load(p->stop);
	}
	return NULL;
}

typedef struct all_items {
	int n;
	double x[WRITERS * PER_WRITER + 1];
	int64_t seq[WRITERS * PER_WRITER + 1];
	char name[WRITERS * PER_WRITER + 1][24];
} all_items;

static void collect_all(void *ctx, const store_item *it)
{
	all_items *a = ctx;
	a->x[a->n] = it->scores[0].value;
	a->seq[a->n] = it->seq;
	snprintf(a->name[a->n], sizeof(a->name[0]), "%s", it->item);
	a->n++;
}

/*
 * Four writers (PostgreSQL: each its own store handle, as four daemons
 * would be) record into one run, replacing each other's items, while a
 * poller follows the after= cursor: the aggregates equal a recomputation
 * from the stored items, and the poller saw every item's final version.
 */
START_TEST(test_concurrent_writers)
{
	pthread_t th[WRITERS], pt;
	writer_arg *w = calloc(WRITERS, sizeof(*w));
	atomic_int stop = 0;
	poller_arg p = {NULL, &stop, 0, calloc(WRITERS * PER_WRITER, sizeof(int64_t)), 0, ""};
	store *handles[WRITERS + 1];
	seg_error err = {0};
	void *ret;

	for (int t = 0; t <= WRITERS; t++)
		handles[t] = is_pg ? open_where() : st;
	record("conc", "seed", 0.5, 0.5); /* the run exists before the poller starts */
	p.s = handles[WRITERS];
	pthread_create(&pt, NULL, poller_main, &p);
	for (int t = 0; t < WRITERS; t++) {
		w[t].s = handles[t];
		w[t].t = t;
		pthread_create(&th[t], NULL, writer_main, &w[t]);
	}
	for (int t = 0; t < WRITERS; t++) {
		pthread_join(th[t], &ret);
		ck_assert_msg(ret == NULL, "writer %d: %s", t, (char *)ret);
	}
	atomic_store(&stop, 1);
	pthread_join(pt, &ret);
	ck_assert_msg(ret == NULL, "poller: %s", (char *)ret);
	ck_assert_msg(!p.bad, "cursor went back: %s", p.why);

	all_items *a = calloc(1, sizeof(*a));
	int64_t next;
	store_items_query q = {0, 1000, 0, NULL, 0};
	for (;;) {
		int before = a->n;
		ck_assert_int_eq(store_items(st, "conc", &q, collect_all, a, &next, &err), SEG_OK);
		if (a->n == before)
			break;
		q.after = next;
	}
	ck_assert_int_eq(a->n, WRITERS * PER_WRITER + 1);
	double *x = malloc(sizeof(double) * (size_t)a->n);
	int nx = 0;
	for (int i = 0; i < a->n; i++) {
		int t, k;
		if (sscanf(a->name[i], "w%d-%d", &t, &k) == 2) {
			ck_assert_msg(p.seen[t * PER_WRITER + k] == a->seq[i], "%s: final seq %lld, poller saw %lld", a->name[i],
				      (long long)a->seq[i], (long long)p.seen[t * PER_WRITER + k]);
			x[nx++] = a->x[i];
		}
	}
	store_agg ag;
	{
		aggs g = aggregates_of(st, "conc");
		ck_assert_int_eq(g.n, 3); /* the seed's bce and iou, and x: losses first, by key */
		ck_assert_str_eq(g.keys[1], "x");
		ag = g.a[1];
		ag.key = "x";
	}
	ref r = reference(x, nx);
	check_ref(&ag, &r);
	store_run run;
	ck_assert_int_eq(store_get_run(st, "conc", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, WRITERS * PER_WRITER + 1);
	if (is_pg)
		for (int t = 0; t <= WRITERS; t++)
			store_close(handles[t]);
	free(x);
	free(a);
	free(w);
	free(p.seen);
}
END_TEST

/* ---- jobs ------------------------------------------------------------------------------------- */

typedef struct seen_job {
	char id[40];
	store_job_status status;
	int total, done;
	char body[64];
	char result[64];
	int attempts;
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
	s->attempts = j->attempts;
}

static void insert_job_in(store *s, const char *id, const char *body, const char *key, const char *hash,
			  int64_t created)
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
	ck_assert_msg(store_job_insert(s, &j, key, hash, existing, &same, &err) == SEG_OK, "%s", err.msg);
	ck_assert_str_eq(existing, "");
}

static void insert_job(const char *id, const char *body, const char *key, const char *hash, int64_t created)
{
	insert_job_in(st, id, body, key, hash, created);
}

#define BIG ((size_t)3 << 20)
static uint8_t *big_body;

static void check_big(void *ctx, const store_job *j)
{
	*(int *)ctx = j->body_len == BIG && memcmp(j->body, big_body, BIG) == 0;
}

START_TEST(test_job_lifecycle)
{
	seg_error err = {0};
	seen_job s;
	int found, next, n;
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
	ck_assert_int_eq(store_job_progress(st, "job1", 1, &next, &err), SEG_OK);
	ck_assert_int_eq(next, STORE_JOB_GO);
	store_job_status was;
	ck_assert_int_eq(store_job_cancel(st, "job1", &was, &err), SEG_OK);
	ck_assert_int_eq(was, JOB_RUNNING);
	ck_assert_int_eq(store_job_progress(st, "job1", 2, &next, &err), SEG_OK);
	ck_assert_int_eq(next, STORE_JOB_CANCEL);
	ck_assert_int_eq(store_job_finish(st, "job1", JOB_CANCELED, NULL, NULL, 0, &err), SEG_OK);
	/* Finished: no longer ours to touch. */
	ck_assert_int_eq(store_job_progress(st, "job1", 2, &next, &err), SEG_OK);
	ck_assert_int_eq(next, STORE_JOB_LOST);
	ck_assert_int_eq(store_job_finish(st, "job1", JOB_DONE, "{}", NULL, 0, &err), SEG_ECONFLICT);

	/* Shutting down mid-job: released, it is queued again and runs from the start. */
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_str_eq(s.id, "job2");
	ck_assert_int_eq(store_job_progress(st, "job2", 1, &next, &err), SEG_OK);
	ck_assert_int_eq(store_job_release(st, "job2", &err), SEG_OK);
	ck_assert_int_eq(store_job_get(st, "job2", 0, collect_job, &s, &err), SEG_OK);
	ck_assert_int_eq(s.status, JOB_QUEUED);
	ck_assert_int_eq(s.done, 0);
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_str_eq(s.id, "job2");
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
	ck_assert_int_eq(store_job_cancel(st, "nojob", &was, &err), SEG_ENOTFOUND);

	ck_assert_int_eq(store_job_counts(st, counts, &err), SEG_OK);
	ck_assert_int_eq(counts[JOB_DONE], 1);
	ck_assert_int_eq(counts[JOB_CANCELED], 1);
	/* Purge: only finished jobs that finished before the cut. */
	ck_assert_int_eq(store_job_purge(st, 0, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_job_purge(st, INT64_MAX, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_job_get(st, "job2", 0, collect_job, &s, &err), SEG_ENOTFOUND);
	/* A body of every byte value, and a big one, comes back as it went in. */
	big_body = malloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		big_body[i] = (uint8_t)(i * 7 + (i >> 11));
	store_job b = {.id = "bin", .created = 1, .total = 1, .content_type = "multipart/form-data; boundary=x",
		       .body = big_body, .body_len = BIG};
	ck_assert_int_eq(store_job_insert(st, &b, NULL, NULL, existing, &same, &err), SEG_OK);
	int same_body = 0;
	ck_assert_int_eq(store_job_claim(st, check_big, &same_body, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 1);
	ck_assert(same_body);
	free(big_body);
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

/* ---- kept masks ------------------------------------------------------------------------------ */

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
	if (len)
		memcpy(g->data, data, len); /* no options: zero bytes, data may be NULL */
	g->len = len;
	g->calls++;
}

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
	store_masks m = {(const uint8_t *)"TARGET", 6, (const uint8_t *)"PREDICTION-1", 12, "{\"logits\":true}"};
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
	/* The options the masks are read with come back beside them. */
	ck_assert_int_eq(store_item_mask(st, "r", s1, 2, take_mask, &g, &err), SEG_OK);
	ck_assert_uint_eq(g.len, 15);
	ck_assert_int_eq(memcmp(g.data, "{\"logits\":true}", 15), 0);

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
	ck_assert_int_eq(store_item_mask(st, "r", s1, 2, take_mask, &g, &err), SEG_ENOTFOUND);

	/* The run's cap: 18 bytes held, 18 more would pass 30; the scores are recorded all the same. */
	ck_assert_int_eq(store_record_masks(st, "r", "c", 3000, 4, 3, &sc, 1, &m, 30, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 0);
	ck_assert_uint_eq(held, 18);
	ck_assert_int_gt(seq_of("r", "c"), s2);
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "c"), 0, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "item 'c' (seq 3) of run 'r' was recorded without its masks (send \"keep_masks\": true)");
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "c"), 2, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "item 'c' (seq 3) of run 'r' was recorded without its masks (send \"keep_masks\": true)");
	/* A plain store_record keeps none either, and posting a kept item again without masks drops its masks. */
	record("r", "d", 0.5, 0.5);
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "d"), 1, take_mask, &g, &err), SEG_ENOTFOUND);
	record("r", "a/b", 0.5, 0.5);
	ck_assert_int_eq(store_item_mask(st, "r", seq_of("r", "a/b"), 1, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_int_eq(store_record_masks(st, "r", "e", 5000, 4, 3, &sc, 1, &m, 100, &kept, &held, &err), SEG_OK);
	ck_assert_uint_eq(held, 0);

	/* Deleting the run drops its masks; a new run of that name starts empty. */
	ck_assert_int_eq(store_delete_run(st, "r", &err), SEG_OK);
	ck_assert_int_eq(store_item_mask(st, "r", s2, 0, take_mask, &g, &err), SEG_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no run 'r'");
	ck_assert_int_eq(store_record_masks(st, "r", "a/b", 4000, 4, 3, &sc, 1, &m, 18, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_uint_eq(held, 0);
	ck_assert_int_eq(g.calls, 4);
	/* Masks of every byte value, binary as PNGs are. */
	uint8_t bin[40];
	for (int i = 0; i < 40; i++)
		bin[i] = (uint8_t)(i * 37);
	store_masks mb = {bin, 40, bin + 1, 20, NULL};
	ck_assert_int_eq(store_record_masks(st, "bin", "x", 1, 4, 3, &sc, 1, &mb, 1000, &kept, &held, &err), SEG_OK);
	ck_assert_int_eq(store_item_mask(st, "bin", seq_of("bin", "x"), 0, take_mask, &g, &err), SEG_OK);
	ck_assert(g.len == 40 && memcmp(g.data, bin, 40) == 0);
	/* Kept without options: zero bytes (what masks kept before options were read as). */
	ck_assert_int_eq(store_item_mask(st, "bin", seq_of("bin", "x"), 2, take_mask, &g, &err), SEG_OK);
	ck_assert_uint_eq(g.len, 0);
}
END_TEST

/* ---- SQLite only ------------------------------------------------------------------------------ */

START_TEST(test_sqlite_migrations_and_reopen)
{
	seg_error err = {0};
	sqlite3 *db;
	sqlite3_stmt *q;

	record("r", "a", 0.5, 0.9);
	store_close(st);
	ck_assert_int_eq(sqlite3_open(where, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT MAX(version), COUNT(*) FROM schema_migrations", -1, &q, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	/* 1: runs, items, scores, jobs; 2: jobs.seq; 3: item_masks; 4: aggs; 5: item_masks.options */
	ck_assert_int_eq(sqlite3_column_int(q, 0), 5);
	ck_assert_int_eq(sqlite3_column_int(q, 1), 5);
	sqlite3_finalize(q);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	/* A database from a newer release is refused, not damaged. */
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES(99, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(where, &err));
	ck_assert_str_eq(err.msg, "store: the database has schema version 99, newer than this seglossd (5)");
	ck_assert_int_eq(sqlite3_open(where, &db), SQLITE_OK);
	sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	/* Reopening keeps the data and applies nothing twice. */
	st = open_where();
	store_run run;
	ck_assert_int_eq(store_get_run(st, "r", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 1);
	ck_assert_int_gt(store_size_bytes(st), 0);
	ck_assert_str_eq(store_backend(st), "sqlite");
	store_health h;
	store_health_of(st, &h);
	ck_assert_int_eq(h.up, 1);
	ck_assert_int_eq(h.jobs_known, 1);
}
END_TEST

/* Back to schema 3 (as an older release wrote it): no aggs, no run column on scores, no options on item_masks. */
static void downgrade_to_3(void)
{
	sqlite3 *db;
	char *msg = NULL;

	store_close(st);
	st = NULL;
	ck_assert_int_eq(sqlite3_open(where, &db), SQLITE_OK);
	int rc = sqlite3_exec(db,
			      "DROP TABLE aggs; DROP INDEX scores_value; ALTER TABLE scores DROP COLUMN run_id; "
			      "ALTER TABLE runs DROP COLUMN items; ALTER TABLE item_masks DROP COLUMN options; "
			      "DELETE FROM schema_migrations WHERE version >= 4",
			      NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s", msg ? msg : "");
	sqlite3_close(db);
}

/* A database of schema 1 (jobs without seq) is upgraded in place: its jobs numbered in the order they came. */
START_TEST(test_sqlite_upgrade_numbers_old_jobs)
{
	sqlite3 *db;
	listed l;

	insert_job("old-a", "{}", NULL, NULL, 100);
	insert_job("old-b", "{}", NULL, NULL, 50);
	downgrade_to_3();
	ck_assert_int_eq(sqlite3_open(where, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "DROP TABLE item_masks; DROP INDEX jobs_seq; ALTER TABLE jobs DROP COLUMN seq; DELETE FROM "
				      "meta WHERE key = 'job_seq'; DELETE FROM schema_migrations WHERE version >= 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	st = open_where();
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

/* A schema-3 file's runs get their aggregates on upgrade: the same, to the bit, as written afresh. */
START_TEST(test_sqlite_upgrade_fills_aggregates)
{
	uint64_t rng = 3;

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 40; i++) {
			char item[16];
			snprintf(item, sizeof(item), "u%d", i);
			record("old", item, 1e6 + tu_uniform(&rng), i % 5 ? tu_uniform(&rng) : NAN);
		}
	aggs before = aggregates_of(st, "old");
	store_score sc = {STORE_LOSS, "bce", 0.25};
	store_masks m = {(const uint8_t *)"T", 1, (const uint8_t *)"P", 1, NULL};
	uint64_t held;
	int kept;
	seg_error e0 = {0};
	ck_assert_int_eq(store_record_masks(st, "masks", "k", 1, 1, 1, &sc, 1, &m, 100, &kept, &held, &e0), SEG_OK);
	downgrade_to_3();
	st = open_where();
	/* Masks kept before options were: still served, their options zero bytes. */
	got_mask g = {0};
	ck_assert_int_eq(store_item_mask(st, "masks", seq_of("masks", "k"), 1, take_mask, &g, &e0), SEG_OK);
	ck_assert(g.len == 1 && g.data[0] == 'P');
	ck_assert_int_eq(store_item_mask(st, "masks", seq_of("masks", "k"), 2, take_mask, &g, &e0), SEG_OK);
	ck_assert_uint_eq(g.len, 0);
	aggs after = aggregates_of(st, "old");
	ck_assert_int_eq(after.n, before.n);
	for (int k = 0; k < before.n; k++) {
		ck_assert_str_eq(after.keys[k], before.keys[k]);
		ck_assert_int_eq(after.a[k].count, before.a[k].count);
		ck_assert(after.a[k].mean == before.a[k].mean && after.a[k].std == before.a[k].std);
		ck_assert(after.a[k].min == before.a[k].min && after.a[k].max == before.a[k].max);
		ck_assert(after.a[k].sum == before.a[k].sum && after.a[k].median == before.a[k].median);
	}
	store_run run;
	seg_error err = {0};
	ck_assert_int_eq(store_get_run(st, "old", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 40);
	record("old", "u1", 0.5, 0.5); /* and it goes on from there */
	ck_assert_int_eq(aggregates_of(st, "old").a[0].min, 0.5);
}
END_TEST

/* One daemon per file: at start every running job is one whose process is gone. */
START_TEST(test_sqlite_requeue_at_start)
{
	seg_error err = {0};
	seen_job s;
	int found, n;

	insert_job("a", "{}", NULL, NULL, 1);
	ck_assert_int_eq(store_job_claim(st, collect_job, &s, &found, &err), SEG_OK);
	store_close(st);
	st = open_where();
	ck_assert_int_eq(store_job_requeue(st, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_job_get(st, "a", 0, collect_job, &s, &err), SEG_OK);
	ck_assert_int_eq(s.status, JOB_QUEUED);
}
END_TEST

/* A path with '=' in it is a SQLite file, not a libpq key=value string; a key=value string starts with a keyword. */
START_TEST(test_sqlite_path_with_equals)
{
	char path[160];
	seg_error err = {0};
	store *s;

	ck_assert(!store_is_postgres("./runs/a=b.db"));
	ck_assert(!store_is_postgres("/var/lib/segloss/x=1/runs.db"));
	ck_assert(!store_is_postgres("runs/a=b.db"));
	ck_assert(!store_is_postgres("=x"));
	ck_assert(!store_is_postgres("1a=b.db"));
	ck_assert(store_is_postgres("host=db dbname=x"));
	ck_assert(store_is_postgres("dbname = segloss"));
	ck_assert(store_is_postgres(" service=segloss"));
	snprintf(path, sizeof(path), "%s/runs/a=b.db", dir);
	s = store_open(path, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	ck_assert_str_eq(store_backend(s), "sqlite");
	record_in(s, "r", "i", 0.5, 0.5);
	store_close(s);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/*
 * A run's summary and aggregates read together, while another daemon
 * adds items: the run's count, its version and every key's count always
 * agree (one snapshot), and the version grows with the count.
 */
typedef struct snap_writer {
	store *s;
	int n;
	atomic_int done;
} snap_writer;

static void *snap_writer_main(void *opaque)
{
	snap_writer *w = opaque;

	for (int i = 0; i < w->n; i++) {
		char item[16];
		snprintf(item, sizeof(item), "s%d", i);
		record_in(w->s, "snap", item, 0.25, 0.5);
	}
	atomic_store(&w->done, 1);
	return NULL;
}

START_TEST(test_pg_run_summary_one_snapshot)
{
	snap_writer w = {open_where(), 400, 0};
	pthread_t th;
	seg_error err = {0};
	int reads = 0;
	int64_t last_version = 0, last_count = 0;

	record_in(w.s, "snap", "first", 0.25, 0.5);
	pthread_create(&th, NULL, snap_writer_main, &w);
	for (int finished = 0; !finished;) {
		store_run run;
		aggs g = {0};
		finished = atomic_load(&w.done);
		ck_assert_msg(store_run_summary(st, "snap", 0, &run, collect_agg, &g, &err) == SEG_OK, "%s", err.msg);
		ck_assert_int_eq(g.n, 2);
		for (int k = 0; k < g.n; k++)
			ck_assert_msg(g.a[k].count == run.count, "read %d: the run counts %lld items, '%s' %lld", reads,
				      (long long)run.count, g.a[k].key, (long long)g.a[k].count);
		ck_assert_int_ge(run.count, last_count);
		ck_assert(run.count == last_count ? run.version == last_version : run.version > last_version);
		last_count = run.count;
		last_version = run.version;
		reads++;
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(last_count, 401);
	store_close(w.s);
	fprintf(stderr, "check_store: %d summaries read while 400 items were written\n", reads);
}
END_TEST

/* ---- PostgreSQL only -------------------------------------------------------------------------- */

static void *open_main(void *arg)
{
	seg_error err = {0};
	store *s = store_open(where, &err);

	(void)arg;
	return s ? (void *)s : (void *)strdup(err.msg);
}

/* Replicas starting together: the migrations run once, in order, under the advisory lock. */
START_TEST(test_pg_migrations)
{
	char v[64];
	pthread_t th[3];
	store *s[3];
	seg_error err = {0};

	store_close(st);
	st = NULL;
	ck_assert_int_eq(tpg_exec(where, "DROP SCHEMA segloss CASCADE"), 0);
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, open_main, NULL);
	for (int i = 0; i < 3; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		s[i] = ret;
	}
	ck_assert_int_eq(tpg_value(where, "SELECT count(*) || ',' || max(version) FROM segloss.schema_migrations", v,
				   sizeof(v)),
			 0);
	ck_assert_str_eq(v, "2,2");
	for (int i = 1; i < 3; i++)
		store_close(s[i]);
	st = s[0];
	ck_assert_str_eq(store_backend(st), "postgres");
	record("r", "a", 0.5, 0.5);
	/* A database from a newer release is refused, not damaged. */
	ck_assert_int_eq(tpg_exec(where, "INSERT INTO segloss.schema_migrations VALUES(99, 0)"), 0);
	ck_assert_ptr_null(store_open(where, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "the database has schema version 99, newer than this seglossd (2)"));
	ck_assert_int_eq(tpg_exec(where, "DELETE FROM segloss.schema_migrations WHERE version = 99"), 0);
	store_health h;
	store_health_of(st, &h);
	ck_assert_int_eq(h.up, 1);
}
END_TEST

/* Two daemons on one database: what one writes the other reads at once, and the versions agree. */
START_TEST(test_pg_two_daemons)
{
	store *b = open_where();
	seg_error err = {0};
	int64_t va, vb, ga, gb, ga2;
	store_run run;

	record_in(st, "shared", "x", 0.25, 1);
	ck_assert_int_eq(store_get_run(b, "shared", &run, &err), SEG_OK);
	ck_assert_int_eq(run.count, 1);
	ck_assert_int_eq(store_version(st, "shared", &va, &err), SEG_OK);
	ck_assert_int_eq(store_version(b, "shared", &vb, &err), SEG_OK);
	ck_assert_int_eq(va, vb);
	ck_assert_int_eq(store_version(st, NULL, &ga, &err), SEG_OK);
	ck_assert_int_eq(store_version(b, NULL, &gb, &err), SEG_OK);
	ck_assert_int_eq(ga, gb);
	/* b writes: a's versions change, the list's by exactly one. */
	record_in(b, "shared", "y", 0.75, 1);
	ck_assert_int_eq(store_version(st, "shared", &va, &err), SEG_OK);
	ck_assert_int_gt(va, vb);
	ck_assert_int_eq(store_version(st, NULL, &ga2, &err), SEG_OK);
	ck_assert_int_eq(ga2, ga + 1);
	aggs g = aggregates_of(st, "shared");
	ck_assert_double_eq(g.a[0].mean, 0.5);
	/* A run deleted on b and created again on a: a new, larger version; the list's grows by one per change. */
	ck_assert_int_eq(store_delete_run(b, "shared", &err), SEG_OK);
	ck_assert_int_eq(store_version(st, NULL, &gb, &err), SEG_OK);
	ck_assert_int_eq(gb, ga2 + 1);
	record_in(st, "shared", "z", 0.5, 1);
	ck_assert_int_eq(store_version(b, "shared", &vb, &err), SEG_OK);
	ck_assert_int_gt(vb, va);
	ck_assert_int_eq(store_version(b, NULL, &gb, &err), SEG_OK);
	ck_assert_int_eq(gb, ga2 + 2);
	/* The Idempotency-Key is one for both. */
	char existing[40];
	int same;
	insert_job_in(st, "ja", "{}", "the-key", "h", 1);
	store_job j = {.id = "jb", .created = 2, .total = 1, .content_type = "x", .body = (const uint8_t *)"{}", .body_len = 2};
	ck_assert_int_eq(store_job_insert(b, &j, "the-key", "h", existing, &same, &err), SEG_OK);
	ck_assert_str_eq(existing, "ja");
	ck_assert_int_eq(same, 1);
	store_close(b);
}
END_TEST

/* A dead daemon's job: its lease runs out, another claims it, and the first one may write nothing more. */
START_TEST(test_pg_lease_taken_over)
{
	store_config cfg = {where, 2, 60000, NULL, 0};
	seg_error err = {0};
	store *a = store_open_config(&cfg, &err), *b = open_where();
	seen_job s;
	int found = 0, next;
	double t0 = tu_now();

	ck_assert_ptr_nonnull(a);
	insert_job_in(a, "leased", "{\"x\":1}", NULL, NULL, 1);
	ck_assert_int_eq(store_job_claim(a, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(s.attempts, 1);
	ck_assert_int_eq(store_job_progress(a, "leased", 1, &next, &err), SEG_OK);
	/* Not while the lease holds. */
	ck_assert_int_eq(store_job_claim(b, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 0);
	/* As if a had stopped renewing: the lease ends; b takes the job (a's keeper may renew once first). */
	while (!found) {
		ck_assert_msg(tu_now() - t0 < 60, "b never took the job over");
		ck_assert_int_eq(tpg_exec(where, "UPDATE segloss.jobs SET lease_until = now() - interval '1 second'"), 0);
		ck_assert_int_eq(store_job_claim(b, collect_job, &s, &found, &err), SEG_OK);
	}
	ck_assert_str_eq(s.id, "leased");
	ck_assert_str_eq(s.body, "{\"x\":1}");
	ck_assert_int_eq(s.done, 0); /* from its first item */
	ck_assert_int_eq(s.attempts, 2); /* the runner gives up on outages after a few */
	ck_assert_int_eq(store_job_progress(a, "leased", 2, &next, &err), SEG_OK);
	ck_assert_int_eq(next, STORE_JOB_LOST);
	ck_assert_int_eq(store_job_finish(a, "leased", JOB_DONE, "{\"by\":\"a\"}", NULL, 0, &err), SEG_ECONFLICT);
	ck_assert_int_eq(store_job_release(a, "leased", &err), SEG_OK); /* a no-op: not a's any more */
	ck_assert_int_eq(store_job_finish(b, "leased", JOB_DONE, "{\"by\":\"b\"}", NULL, 0, &err), SEG_OK);
	ck_assert_int_eq(store_job_get(a, "leased", 0, collect_job, &s, &err), SEG_OK);
	ck_assert_str_eq(s.result, "{\"by\":\"b\"}");
	/* At start, only jobs whose lease expired go back to the queue. */
	int n;
	insert_job_in(a, "live", "{}", NULL, NULL, 2);
	ck_assert_int_eq(store_job_claim(a, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(store_job_requeue(b, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 0);
	store_close(a);
	store_close(b);
}
END_TEST

/*
 * While a job runs its lease is renewed (the keeper, every lease/3), so
 * no other daemon takes it, however long an item takes without progress.
 * A 2 s lease, watched for three of them: time is what this tests, and
 * the margin of a renewal (two thirds of a lease) survives a loaded
 * machine.
 */
START_TEST(test_pg_lease_renewed_while_running)
{
	store_config cfg = {where, 2, 2000, NULL, 0};
	seg_error err = {0};
	store *a = store_open_config(&cfg, &err), *b = open_where();
	seen_job s;
	int found = 0;
	char v[16];

	ck_assert_ptr_nonnull(a);
	insert_job_in(a, "long", "{}", NULL, NULL, 1);
	ck_assert_int_eq(store_job_claim(a, collect_job, &s, &found, &err), SEG_OK);
	ck_assert_int_eq(found, 1);
	/* No progress from a for three leases: b finds nothing to claim all along. */
	double t0 = tu_now();
	while (tu_now() - t0 < 6.0) {
		ck_assert_int_eq(store_job_claim(b, collect_job, &s, &found, &err), SEG_OK);
		ck_assert_msg(!found, "b took the job after %.1f s: its lease was not renewed", tu_now() - t0);
		usleep(100000);
	}
	ck_assert_int_eq(tpg_value(where, "SELECT lease_until > now() FROM segloss.jobs WHERE id = 'long'", v, sizeof(v)),
			 0);
	ck_assert_str_eq(v, "t");
	/* a gone (no more renewals): the lease runs out and b takes the job, which is what the loop above would see. */
	store_close(a);
	t0 = tu_now();
	while (!found) {
		ck_assert_msg(tu_now() - t0 < 60, "b never took the job once a was gone");
		ck_assert_int_eq(store_job_claim(b, collect_job, &s, &found, &err), SEG_OK);
		if (!found)
			usleep(100000);
	}
	ck_assert_str_eq(s.id, "long");
	store_close(b);
}
END_TEST

/* The TTL purge runs on one daemon at a time: the others skip while it holds the lock. */
START_TEST(test_pg_purge_one_at_a_time)
{
	seg_error err = {0};
	int n;
	PGconn *c = PQconnectdb(where);
	store_job_status was;

	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	insert_job("old", "{}", NULL, NULL, 1);
	ck_assert_int_eq(store_job_cancel(st, "old", &was, &err), SEG_OK);
	PGresult *r = PQexec(c, "SELECT pg_advisory_lock(32482707216319235)");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	ck_assert_int_eq(store_job_purge(st, INT64_MAX, &n, &err), SEG_OK);
	ck_assert_int_eq(n, -1);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(32482707216319235)"));
	ck_assert_int_eq(store_job_purge(st, INT64_MAX, &n, &err), SEG_OK);
	ck_assert_int_eq(n, 1);
	PQfinish(c);
}
END_TEST

/* A queued job wakes the other daemons (LISTEN/NOTIFY), without waiting for their poll. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cond = PTHREAD_COND_INITIALIZER;
static int hook_calls;

static void on_job(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hook_lock);
	hook_calls++;
	pthread_cond_broadcast(&hook_cond);
	pthread_mutex_unlock(&hook_lock);
}

START_TEST(test_pg_notify_wakes_others)
{
	store *b = open_where();
	struct timespec deadline;
	int got = 0;

	store_set_job_hook(b, on_job, NULL);
	/*
	 * The hook is called once when it is set and b's listener is connected;
	 * count from after that call, or it would pass for the notification.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&hook_lock);
	while (hook_calls < 1)
		if (pthread_cond_timedwait(&hook_cond, &hook_lock, &deadline) != 0)
			break;
	int before = hook_calls;
	pthread_mutex_unlock(&hook_lock);
	ck_assert_msg(before == 1, "the hook was called %d times when set, not once", before);
	insert_job("wake", "{}", NULL, NULL, 1);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&hook_lock);
	while (hook_calls == before)
		if (pthread_cond_timedwait(&hook_cond, &hook_lock, &deadline) != 0)
			break;
	got = hook_calls > before;
	pthread_mutex_unlock(&hook_lock);
	ck_assert_msg(got, "no notification in 30 s");
	store_set_job_hook(b, NULL, NULL);
	store_close(b);
}
END_TEST

/*
 * A restart of the server closes every pooled connection at the other
 * end, while libpq still calls them fine. Once the store has noticed
 * (here its keeper, reconnected), calls that are not run twice (a cancel,
 * a job queued without an Idempotency-Key, a claim) succeed at once: the
 * stale connections are opened anew rather than failing one call each.
 */
START_TEST(test_pg_restart_reopens_pooled_connections)
{
	const char *pgdir = getenv("SEGLOSS_TEST_PG_DIR");
	store_config cfg = {where, 3, 0, NULL, 0};
	seg_error err = {0};
	store_health h0, h;
	store_job_status was;
	seen_job sj;
	char cmd[512];
	int found = 0;

	if (pgdir == NULL) {
		fprintf(stderr, "check_store: SEGLOSS_TEST_PG_DIR is not set (not started by tests/scripts/pg.sh): "
				"the restart case is left out\n");
		return;
	}
	store *s = store_open_config(&cfg, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	insert_job_in(s, "before", "{}", NULL, NULL, 1);
	record_in(s, "r", "a", 0.5, 0.5);
	store_health_of(s, &h0);
	ck_assert_int_eq(h0.up, 1);
	snprintf(cmd, sizeof(cmd), "tests/scripts/pg.sh restart '%s'", pgdir);
	ck_assert_int_eq(system(cmd), 0);
	double t0 = tu_now();
	for (;;) {
		store_health_of(s, &h);
		if (h.up && h.reconnects > h0.reconnects)
			break;
		ck_assert_msg(tu_now() - t0 < 60, "the store never noticed the restart");
		usleep(10000);
	}
	ck_assert_uint_gt(h.losses, h0.losses);
	ck_assert_int_eq(store_job_cancel(s, "nosuch", &was, &err), SEG_ENOTFOUND);
	insert_job_in(s, "after", "{}", NULL, NULL, 2);
	ck_assert_msg(store_job_claim(s, collect_job, &sj, &found, &err) == SEG_OK, "%s", err.msg);
	ck_assert_int_eq(found, 1);
	ck_assert_str_eq(sj.id, "before");
	store_health_of(s, &h0);
	ck_assert_uint_eq(h0.errors, h.errors);
	store_close(s);
}
END_TEST

/*
 * The server down when the store opens: it opens down, and once the
 * server is back it is not up, nor does a call run, before the schema is
 * in place (a call must never meet a missing table).
 */
START_TEST(test_pg_migrates_once_reachable)
{
	const char *pgdir = getenv("SEGLOSS_TEST_PG_DIR");
	seg_error err = {0};
	store_health h;
	char cmd[512], v[32];
	store_score sc = {STORE_LOSS, "bce", 0.5};

	if (pgdir == NULL) {
		fprintf(stderr, "check_store: SEGLOSS_TEST_PG_DIR is not set: the start-while-down case is left out\n");
		return;
	}
	store_close(st);
	st = NULL;
	ck_assert_int_eq(tpg_exec(where, "DROP SCHEMA segloss CASCADE"), 0);
	snprintf(cmd, sizeof(cmd), "tests/scripts/pg.sh down '%s'", pgdir);
	ck_assert_int_eq(system(cmd), 0);
	st = store_open(where, &err);
	snprintf(cmd, sizeof(cmd), "tests/scripts/pg.sh up '%s'", pgdir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(st != NULL, "%s", err.msg);
	double t0 = tu_now();
	for (;;) {
		store_health_of(st, &h);
		if (h.up) {
			ck_assert_int_eq(tpg_value(where, "SELECT count(*) FROM segloss.schema_migrations", v, sizeof(v)), 0);
			ck_assert_str_eq(v, "1");
		}
		if (store_record(st, "r", "i", 1, 1, 1, &sc, 1, &err) == SEG_OK)
			break;
		ck_assert_msg(strncmp(err.msg, "store: PostgreSQL is unreachable: ", 34) == 0, "%s", err.msg);
		ck_assert_msg(tu_now() - t0 < 60, "the store never came up: %s", err.msg);
		usleep(20000);
	}
	store_health_of(st, &h);
	ck_assert_int_eq(h.up, 1);
}
END_TEST

/* A server that does not answer: the store opens down, calls fail at once with the cause, never a hang. */
START_TEST(test_pg_unreachable)
{
	seg_error err = {0};
	char dsn[256];
	store_health h;

	/* Port 1 on loopback: nothing listens there, connections are refused. */
	snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=1 dbname=segloss user=segloss connect_timeout=2");
	store *s = store_open(dsn, &err);
	ck_assert_msg(s != NULL, "%s", err.msg);
	store_health_of(s, &h);
	ck_assert_int_eq(h.up, 0);
	ck_assert_ptr_nonnull(strstr(h.detail, "refused"));
	for (int i = 0; i < 5; i++) {
		store_score sc = {0, "x", 1};
		ck_assert_int_eq(store_record(s, "r", "i", 1, 1, 1, &sc, 1, &err), SEG_ESTORE);
		ck_assert_msg(strncmp(err.msg, "store: PostgreSQL is unreachable: ", 34) == 0, "%s", err.msg);
	}
	store_health_of(s, &h);
	ck_assert_uint_ge(h.errors, 5);
	store_close(s);
	/* An address libpq cannot read is refused at once, without repeating it (it may hold a password). */
	ck_assert_ptr_null(store_open("postgres://u:s3cret@host/db?nosuchoption=1", &err));
	ck_assert_int_eq(err.status, SEG_EINVAL);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
}
END_TEST

START_TEST(test_pg_describe_hides_passwords)
{
	char out[256];

	ck_assert(store_is_postgres("postgres://a@b/c"));
	ck_assert(store_is_postgres("postgresql://b/c"));
	ck_assert(store_is_postgres("host=db dbname=x"));
	ck_assert(!store_is_postgres("./data/segloss.db"));
	ck_assert(!store_is_postgres(":memory:"));
	store_describe("postgres://user:s3cret@db.example:5433/segloss?sslmode=require", out, sizeof(out));
	ck_assert_str_eq(out, "postgresql://user@db.example:5433/segloss");
	store_describe("host=db user=u password=s3cret dbname=runs", out, sizeof(out));
	ck_assert_str_eq(out, "postgresql://u@db/runs");
	store_describe("./data/segloss.db", out, sizeof(out));
	ck_assert_str_eq(out, "./data/segloss.db");
}
END_TEST

/* ---- exact sums --------------------------------------------------------------------------------- */

static exact_sum enc_dec(const exact_sum *s)
{
	uint8_t b[EXACT_BLOB_MAX];
	exact_sum t;
	size_t n = exact_encode(s, b);

	ck_assert_int_eq(exact_decode(&t, b, n), 0);
	ck_assert(memcmp(&t, s, sizeof(t)) == 0);
	return t;
}

START_TEST(test_exact_sums)
{
	exact_sum s, t;
	uint64_t rng = 11;

	/* 0.1 ten times: the exact sum rounds to 1, the naive one to 0.9999999999999999. */
	exact_clear(&s);
	for (int i = 0; i < 10; i++)
		exact_add(&s, 0.1, 1);
	ck_assert(exact_value(&s) == 1.0);
	/* Far apart and back: nothing lost, no overflow. */
	exact_clear(&s);
	exact_add(&s, 1e308, 1);
	exact_add(&s, 1e308, 1);
	exact_add(&s, 5e-324, 1);
	exact_add(&s, 1e308, -1);
	exact_add(&s, 1e308, -1);
	ck_assert(exact_value(&s) == 5e-324);
	exact_add(&s, 5e-324, -1);
	enc_dec(&s);
	exact_clear(&t);
	ck_assert(memcmp(&s, &t, sizeof(s)) == 0);
	/* Any order, any history: the same bits. */
	double v[200];
	for (int i = 0; i < 200; i++)
		v[i] = (tu_uniform(&rng) - 0.5) * pow(10, (int)(tu_rand(&rng) % 40) - 20);
	exact_clear(&s);
	exact_clear(&t);
	for (int i = 0; i < 200; i++) {
		exact_add(&s, v[i], 1);
		exact_add_square(&s, v[i], 1);
		exact_add(&t, v[199 - i], 1);
		exact_add_square(&t, v[199 - i], 1);
		exact_add(&t, 3.0 * v[i], 1);
		exact_add(&t, 3.0 * v[i], -1);
	}
	ck_assert(memcmp(&s, &t, sizeof(s)) == 0);
	enc_dec(&s);
	/* Negative sums read back negative. */
	exact_clear(&s);
	exact_add(&s, -2.5, 1);
	exact_add(&s, 0.25, 1);
	ck_assert(exact_value(&s) == -2.25);
	ck_assert(exact_mean(&s, 3) == -0.75);
	t = enc_dec(&s);
	ck_assert(exact_value(&t) == -2.25);
	/* Variance with a huge offset: 1e8 + {1, 2, 3} has variance 2/3. */
	exact_sum s1, s2;
	exact_clear(&s1);
	exact_clear(&s2);
	for (int i = 1; i <= 3; i++) {
		exact_add(&s1, 1e8 + i, 1);
		exact_add_square(&s2, 1e8 + i, 1);
	}
	ck_assert_double_eq_tol(exact_std(&s1, &s2, 3), sqrt(2.0 / 3.0), 1e-16);
	/* Equal values: variance 0 exactly. */
	exact_clear(&s1);
	exact_clear(&s2);
	for (int i = 0; i < 7; i++) {
		exact_add(&s1, 0.1, 1);
		exact_add_square(&s2, 0.1, 1);
	}
	ck_assert(exact_std(&s1, &s2, 7) == 0);
	/* A variance below the smallest double still has its square root. */
	exact_clear(&s1);
	exact_clear(&s2);
	for (int i = 1; i <= 2; i++) {
		exact_add(&s1, i * 1e-300, 1);
		exact_add_square(&s2, i * 1e-300, 1);
	}
	ck_assert_double_eq_tol(exact_std(&s1, &s2, 2), 0.5e-300, 1e-315);
	ck_assert(isnan(exact_mean(&s1, 0)));
	/* Malformed blobs are refused. */
	uint8_t bad[12] = {2, 0, 1, 1};
	ck_assert_int_eq(exact_decode(&s, bad, 12), -1);
	uint8_t shortb[3] = {0, 0, 1};
	ck_assert_int_eq(exact_decode(&s, shortb, 3), -1);
	uint8_t over[12] = {0, 67, 2, 1};
	ck_assert_int_eq(exact_decode(&s, over, 12), -1);
	ck_assert_int_eq(exact_decode(&s, NULL, 0), 0);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------------- */

static void add_shared(TCase *tc)
{
	tcase_add_test(tc, test_replace_keeps_aggregates_exact);
	tcase_add_test(tc, test_history_does_not_matter);
	tcase_add_test(tc, test_extremes_replaced);
	tcase_add_test(tc, test_percentiles_match_numpy);
	tcase_add_test(tc, test_cursor_and_ordering);
	tcase_add_test(tc, test_compare_and_delete);
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_job_lifecycle);
	tcase_add_test(tc, test_jobs_list);
	tcase_add_test(tc, test_kept_masks);
}

int main(void)
{
	Suite *s = suite_create("store");
	TCase *lite = tcase_create("sqlite"), *pg, *ex = tcase_create("exact");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(lite, setup_sqlite, teardown);
	tcase_set_timeout(lite, 120); /* thousands of committed writes, under sanitizers too */
	add_shared(lite);
	tcase_add_test(lite, test_sqlite_migrations_and_reopen);
	tcase_add_test(lite, test_sqlite_upgrade_numbers_old_jobs);
	tcase_add_test(lite, test_sqlite_upgrade_fills_aggregates);
	tcase_add_test(lite, test_sqlite_requeue_at_start);
	tcase_add_test(lite, test_sqlite_path_with_equals);
	suite_add_tcase(s, lite);

	if (tpg_server()) {
		pg = tcase_create("postgres"); /* only when it runs: a TCase left out of the suite is never freed */
		tcase_add_checked_fixture(pg, setup_pg, teardown);
		tcase_set_timeout(pg, 120);
		add_shared(pg);
		tcase_add_test(pg, test_pg_migrations);
		tcase_add_test(pg, test_pg_two_daemons);
		tcase_add_test(pg, test_pg_lease_taken_over);
		tcase_add_test(pg, test_pg_lease_renewed_while_running);
		tcase_add_test(pg, test_pg_purge_one_at_a_time);
		tcase_add_test(pg, test_pg_notify_wakes_others);
		tcase_add_test(pg, test_pg_unreachable);
		tcase_add_test(pg, test_pg_restart_reopens_pooled_connections);
		tcase_add_test(pg, test_pg_migrates_once_reachable);
		tcase_add_test(pg, test_pg_run_summary_one_snapshot);
		tcase_add_test(pg, test_pg_describe_hides_passwords);
		suite_add_tcase(s, pg);
	} else {
		printf("check_store: SEGLOSS_TEST_PG is not set: the postgres cases are left out (make check-pg runs them)\n");
	}

	tcase_add_test(ex, test_exact_sums);
	suite_add_tcase(s, ex);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
