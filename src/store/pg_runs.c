/*
 * pg_runs.c — runs, items and aggregates on PostgreSQL.
 *
 * A value travels to the database as its exact decimal expansion (every
 * double is m * 2^-k, whose expansion has k digits after the point and
 * which glibc prints exactly), is added to the numeric sums of aggs, and
 * stored as the same double (float8). The sums are therefore exact, and
 * mean, std and sum are rounded once, when read: the mean as s1/n, the
 * std as the root of (n*s2 - s1^2)/n^2 with an exact numerator, both in
 * numeric.
 *
 * Recording is one call of segloss_record (see pg.c for what it does
 * under the run's row lock). Reading the aggregates is one statement:
 * the kept columns of aggs, and, for the percentiles, the two values at
 * the needed ranks read from the index of values (scores_value, by aggs
 * row and value) from the nearer end, interpolated here as NumPy does
 * (store.c).
 */
#include "store/pg_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/buf.h"

/* x written exactly in decimal into b: x = m 2^e, m odd; e < 0 needs -e digits after the point. */
static seg_status put_exact(buf *b, double x)
{
	int q;

	if (x == 0)
		return buf_puts(b, "0");
	double f = frexp(fabs(x), &q);
	uint64_t m = (uint64_t)ldexp(f, 53);
	int e = q - 53 + __builtin_ctzll(m);
	return e >= 0 ? buf_printf(b, "%.0f", x) : buf_printf(b, "%.*f", -e, x);
}

/* s as an element of a PostgreSQL array literal: quoted, with \ and " escaped. */
static seg_status put_quoted(buf *b, const char *s)
{
	seg_status rc = buf_puts(b, "\"");

	for (; rc == SEG_OK && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_puts(b, "\\");
		if (rc == SEG_OK)
			rc = buf_append(b, s, 1);
	}
	return rc == SEG_OK ? buf_puts(b, "\"") : rc;
}

seg_status pgs_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
		      const store_score *scores, size_t n, const store_masks *m, uint64_t run_cap, int *kept,
		      uint64_t *run_bytes, seg_error *err)
{
	pgs *p = (pgs *)s;
	buf kinds, keys, values;
	char t[24], w[16], h[16], cap[24];
	PGresult *r = NULL;
	seg_status rc = SEG_OK;

	*kept = 0;
	*run_bytes = 0;
	buf_init(&kinds, 0);
	buf_init(&keys, 0);
	buf_init(&values, 0);
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)(m ? run_cap : 0));
	snprintf(t, sizeof(t), "%lld", (long long)time_ms);
	snprintf(w, sizeof(w), "%d", width);
	snprintf(h, sizeof(h), "%d", height);
	rc = buf_puts(&kinds, "{");
	if (rc == SEG_OK)
		rc = buf_puts(&keys, "{");
	if (rc == SEG_OK)
		rc = buf_puts(&values, "{");
	for (size_t i = 0; i < n && rc == SEG_OK; i++) {
		const char *sep = i ? "," : "";
		rc = buf_printf(&kinds, "%s%d", sep, scores[i].kind);
		if (rc == SEG_OK)
			rc = buf_puts(&keys, sep);
		if (rc == SEG_OK)
			rc = put_quoted(&keys, scores[i].key);
		if (rc == SEG_OK)
			rc = buf_puts(&values, sep);
		if (rc == SEG_OK)
			rc = isfinite(scores[i].value) ? put_exact(&values, scores[i].value) : buf_puts(&values, "NULL");
	}
	if (rc == SEG_OK)
		rc = buf_puts(&kinds, "}");
	if (rc == SEG_OK)
		rc = buf_puts(&keys, "}");
	if (rc == SEG_OK)
		rc = buf_puts(&values, "}");
	if (rc != SEG_OK) {
		rc = seg_fail(err, SEG_ENOMEM, "out of memory recording '%s'", item);
	} else {
		const char *v[12] = {run, item, t, w, h, (const char *)kinds.data, (const char *)keys.data,
				     (const char *)values.data, m ? (const char *)m->target : NULL,
				     m ? (const char *)m->prediction : NULL, cap, m ? m->options : NULL};
		int len[12] = {0, 0, 0, 0, 0, 0, 0, 0, m ? (int)m->target_len : 0, m ? (int)m->prediction_len : 0, 0, 0};
		int fmt[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
		/* Running it twice replaces the item with the same scores (and masks): safe to retry. */
		pgs_call c = {"SELECT o_kept, o_held FROM segloss_record_options($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
			      "$11, $12)",
			      12, v, len, fmt, 0, 1, 1};
		/* An empty mask is a zero-length value, not NULL (NULL means none sent). */
		if (m && m->target_len == 0)
			v[8] = "";
		if (m && m->prediction_len == 0)
			v[9] = "";
		rc = pgs_run(p, &c, &r, err);
		if (rc == SEG_OK && PQntuples(r) == 1) {
			*kept = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
			*run_bytes = (uint64_t)pgs_int(r, 0, 1);
		}
	}
	PQclear(r);
	buf_release(&kinds);
	buf_release(&keys);
	buf_release(&values);
	return rc;
}

/* A read of one text parameter (or none), safe to retry. */
static seg_status read1(pgs *p, const char *sql, const char *a, PGresult **r, seg_error *err)
{
	const char *v[1] = {a};
	pgs_call c = {sql, a ? 1 : 0, a ? v : NULL, NULL, NULL, 0, 1, 0};

	return pgs_run(p, &c, r, err);
}

seg_status pgs_version(store *s, const char *run, int64_t *version, seg_error *err)
{
	PGresult *r = NULL;
	seg_status rc;

	*version = 0;
	/* The list's version: the changes of the runs there are, and of those deleted; one more per change. */
	rc = read1((pgs *)s,
		   run ? "SELECT version FROM runs WHERE name = $1"
		       : "SELECT (SELECT COALESCE(sum(changes), 0) FROM runs) + (SELECT value FROM meta WHERE key = "
			 "'deleted')",
		   run, &r, err);
	if (rc == SEG_OK && PQntuples(r) == 1)
		*version = pgs_int(r, 0, 0);
	PQclear(r);
	return rc;
}

static void read_run(const PGresult *r, int row, store_run *out)
{
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(r, row, 0));
	out->count = pgs_int(r, row, 1);
	out->created = pgs_int(r, row, 2);
	out->updated = pgs_int(r, row, 3);
	out->version = pgs_int(r, row, 4);
}

seg_status pgs_list_runs(store *s, store_run_fn fn, void *ctx, seg_error *err)
{
	PGresult *r = NULL;
	seg_status rc = read1((pgs *)s, "SELECT name, items, created, updated, version FROM runs ORDER BY name", NULL, &r,
			      err);

	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		store_run run;
		read_run(r, i, &run);
		fn(ctx, &run);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_get_run(store *s, const char *run, store_run *out, seg_error *err)
{
	PGresult *r = NULL;
	seg_status rc = read1((pgs *)s, "SELECT name, items, created, updated, version FROM runs WHERE name = $1", run,
			      &r, err);

	if (rc == SEG_OK && PQntuples(r) == 1)
		read_run(r, 0, out);
	else if (rc == SEG_OK)
		rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	PQclear(r);
	return rc;
}

seg_status pgs_run_keys(store *s, const char *run, store_key_fn fn, void *ctx, seg_error *err)
{
	PGresult *r = NULL;
	seg_status rc = read1((pgs *)s,
			      "SELECT a.kind, a.key FROM aggs a JOIN runs r ON r.id = a.run_id WHERE r.name = $1 "
			      "ORDER BY a.kind, a.key",
			      run, &r, err);

	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++)
		fn(ctx, (int)pgs_int(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	return rc;
}

/*
 * The values at ranks k and k + 1 of a key (k from store_quantile_rank),
 * nearer end first: ascending from rank k, or descending from rank
 * min(k + 1, n - 1), both then sorted ascending.
 */
#define RANK_UP(q)                                                                                                     \
	"(SELECT array_agg(t.v ORDER BY t.v) FROM (SELECT s.value AS v FROM scores s WHERE s.agg_id = a.id "           \
	"AND s.value IS NOT NULL ORDER BY s.value "                                                                    \
	"OFFSET GREATEST(floor((a.count - 1)::float8 * " q "::float8)::bigint, 0) LIMIT 2) t)"
#define RANK_DOWN(q)                                                                                                   \
	"(SELECT array_agg(t.v ORDER BY t.v) FROM (SELECT s.value AS v FROM scores s WHERE s.agg_id = a.id "           \
	"AND s.value IS NOT NULL ORDER BY s.value DESC "                                                               \
	"OFFSET GREATEST(a.count - 1 - LEAST(floor((a.count - 1)::float8 * " q "::float8)::bigint + 1, a.count - 1), 0) " \
	"LIMIT 2) t)"

#define AGG_COLUMNS                                                                                                    \
	"a.kind, a.key, a.count, (a.s1 / NULLIF(a.count, 0))::float8, "                                                \
	"sqrt((a.s2 * a.count - a.s1 * a.s1) / NULLIF(a.count::numeric * a.count, 0))::float8, "                      \
	"a.vmin, a.vmax, a.s1::float8, p.v05, p.v50, p.v95"
#define AGG_PERCENTILES                                                                                                \
	"LEFT JOIN LATERAL (SELECT " RANK_UP("0.05") " AS v05, " RANK_UP("0.5") " AS v50, " RANK_DOWN("0.95") " AS v95 " \
	"WHERE $2::boolean AND a.count > 0) p ON true "
static const char sql_aggs[] = "SELECT " AGG_COLUMNS " FROM runs r JOIN aggs a ON a.run_id = r.id " AGG_PERCENTILES
			       "WHERE r.name = $1 ORDER BY a.kind, a.key";
/*
 * The aggregates and the run's row in one statement, so from one snapshot
 * (the run's row on every line; one line with no key when it has none).
 */
static const char sql_summary[] = "SELECT " AGG_COLUMNS ", r.name, r.items, r.created, r.updated, r.version "
				  "FROM runs r LEFT JOIN aggs a ON a.run_id = r.id " AGG_PERCENTILES
				  "WHERE r.name = $1 ORDER BY a.kind, a.key";

/* "{a,b}" (a float8[] in text) into v[0..1]; returns how many. */
static int parse_pair(const char *text, double v[2])
{
	const char *p = text;
	int n = 0;

	if (*p != '{')
		return 0;
	p++;
	while (n < 2 && *p && *p != '}') {
		char *end;
		v[n] = strtod(p, &end);
		if (end == p)
			break;
		n++;
		p = end;
		if (*p == ',')
			p++;
	}
	return n;
}

/* A percentile from the pair the statement read; up: read ascending from rank k. */
static double percentile_of(const PGresult *r, int row, int col, int64_t n, double q, int up)
{
	double v[2];
	int got;
	int64_t k = store_quantile_rank(n, q);

	if (PQgetisnull(r, row, col))
		return NAN;
	got = parse_pair(PQgetvalue(r, row, col), v);
	if (got == 0)
		return NAN;
	if (got == 1)
		return v[0];
	/* Read downwards from rank n - 1 (when k = n - 1), the pair is ranks n - 2 and n - 1. */
	if (!up && k == n - 1)
		return v[1];
	return store_quantile_of(v[0], v[1], (size_t)n, q);
}

/* A key's aggregates from a row of AGG_COLUMNS (its strings live as long as r). */
static void read_agg(const PGresult *r, int row, store_agg *a)
{
	a->kind = (int)pgs_int(r, row, 0);
	a->key = PQgetvalue(r, row, 1);
	a->count = pgs_int(r, row, 2);
	a->mean = pgs_double(r, row, 3);
	a->std = pgs_double(r, row, 4);
	a->min = pgs_double(r, row, 5);
	a->max = pgs_double(r, row, 6);
	a->sum = pgs_double(r, row, 7);
	a->p05 = percentile_of(r, row, 8, a->count, store_percentiles[0], 1);
	a->median = percentile_of(r, row, 9, a->count, store_percentiles[1], 1);
	a->p95 = percentile_of(r, row, 10, a->count, store_percentiles[2], 0);
}

seg_status pgs_aggregates(store *s, const char *run, int percentiles, store_agg_fn fn, void *ctx, seg_error *err)
{
	PGresult *r = NULL;
	const char *v[2] = {run, percentiles ? "true" : "false"};
	pgs_call c = {sql_aggs, 2, v, NULL, NULL, 0, 1, 0};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		store_agg a;
		read_agg(r, i, &a);
		fn(ctx, &a);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_run_summary(store *s, const char *run, int percentiles, store_run *out, store_agg_fn fn, void *ctx,
			   seg_error *err)
{
	PGresult *r = NULL;
	const char *v[2] = {run, percentiles ? "true" : "false"};
	pgs_call c = {sql_summary, 2, v, NULL, NULL, 0, 1, 0};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	if (rc == SEG_OK && PQntuples(r) == 0)
		rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	if (rc == SEG_OK) {
		snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(r, 0, 11));
		out->count = pgs_int(r, 0, 12);
		out->created = pgs_int(r, 0, 13);
		out->updated = pgs_int(r, 0, 14);
		out->version = pgs_int(r, 0, 15);
	}
	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		store_agg a;
		if (PQgetisnull(r, i, 0)) /* the run without a key */
			continue;
		read_agg(r, i, &a);
		fn(ctx, &a);
	}
	PQclear(r);
	return rc;
}

/* One row per item and score (items without scores: one row, kind NULL), in the page's order. */
#define ITEM_ROWS                                                                                                      \
	"SELECT i.seq, i.item, i.time, i.width, i.height, a.kind, a.key, s.value FROM "
#define ITEM_SCORES "LEFT JOIN scores s ON s.item_id = i.id LEFT JOIN aggs a ON a.id = s.agg_id "
static const char sql_items_seq[] =
	ITEM_ROWS "(SELECT i.* FROM items i JOIN runs r ON r.id = i.run_id WHERE r.name = $1 AND i.seq > $2 "
		  "ORDER BY i.seq LIMIT $3) i " ITEM_SCORES "ORDER BY i.seq, a.kind, a.key";
static const char sql_items_newest[] =
	ITEM_ROWS "(SELECT i.* FROM items i JOIN runs r ON r.id = i.run_id WHERE r.name = $1 AND i.seq > $2 "
		  "ORDER BY i.seq DESC LIMIT $3) i " ITEM_SCORES "ORDER BY i.seq DESC, a.kind, a.key";
#define ORDERED(dir)                                                                                                   \
	ITEM_ROWS "(SELECT i.*, o.value AS ov FROM items i JOIN runs r ON r.id = i.run_id LEFT JOIN scores o ON "       \
		  "o.item_id = i.id AND o.agg_id = (SELECT id FROM aggs WHERE run_id = r.id AND kind = $2 AND key = $3) " \
		  "WHERE r.name = $1 ORDER BY o.value IS NULL, o.value " dir ", i.seq LIMIT $4) i " ITEM_SCORES            \
		  "ORDER BY i.ov IS NULL, i.ov " dir ", i.seq, a.kind, a.key"
static const char sql_items_desc[] = ORDERED("DESC");
static const char sql_items_asc[] = ORDERED("ASC");

seg_status pgs_items(store *s, const char *run, const store_items_query *q, store_item_fn fn, void *ctx,
		     int64_t *next, seg_error *err)
{
	PGresult *r = NULL;
	char a[24], b[16], lim[16];
	const char *v[4];
	pgs_call c = {NULL, 0, v, NULL, NULL, 0, 1, 0};
	store_score *scores = NULL;
	seg_status rc;

	*next = q->after;
	v[0] = run;
	if (q->order_key) {
		snprintf(b, sizeof(b), "%d", q->order_kind);
		snprintf(lim, sizeof(lim), "%d", q->limit);
		v[1] = b;
		v[2] = q->order_key;
		v[3] = lim;
		c.sql = q->desc ? sql_items_desc : sql_items_asc;
		c.nparams = 4;
	} else {
		snprintf(a, sizeof(a), "%lld", (long long)q->after);
		snprintf(lim, sizeof(lim), "%d", q->limit);
		v[1] = a;
		v[2] = lim;
		c.sql = q->desc ? sql_items_newest : sql_items_seq;
		c.nparams = 3;
	}
	rc = pgs_run((pgs *)s, &c, &r, err);
	if (rc == SEG_OK && PQntuples(r) > 0) {
		scores = malloc((size_t)PQntuples(r) * sizeof(*scores));
		if (scores == NULL)
			rc = seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	for (int i = 0; rc == SEG_OK && i < PQntuples(r);) {
		store_item it;
		int64_t seq = pgs_int(r, i, 0);
		size_t n = 0;
		it.seq = seq;
		it.item = PQgetvalue(r, i, 1);
		it.time = pgs_int(r, i, 2);
		it.width = (int)pgs_int(r, i, 3);
		it.height = (int)pgs_int(r, i, 4);
		for (; i < PQntuples(r) && pgs_int(r, i, 0) == seq; i++) {
			if (PQgetisnull(r, i, 5))
				continue;
			scores[n].kind = (int)pgs_int(r, i, 5);
			scores[n].key = PQgetvalue(r, i, 6);
			scores[n].value = pgs_double(r, i, 7);
			n++;
		}
		it.scores = scores;
		it.nscores = n;
		if (it.seq > *next)
			*next = it.seq;
		fn(ctx, &it);
	}
	free(scores);
	PQclear(r);
	return rc;
}

seg_status pgs_compare(store *s, const char *a, const char *b, store_pair_fn fn, void *ctx, seg_error *err)
{
	PGresult *r = NULL;
	const char *v[2] = {a, b};
	pgs_call c = {"SELECT aa.kind, aa.key, ia.item, sa.value, sb.value FROM runs ra "
		      "JOIN runs rb ON rb.name = $2 "
		      "JOIN aggs aa ON aa.run_id = ra.id "
		      "JOIN aggs ab ON ab.run_id = rb.id AND ab.kind = aa.kind AND ab.key = aa.key "
		      "JOIN scores sa ON sa.agg_id = aa.id "
		      "JOIN items ia ON ia.id = sa.item_id "
		      "JOIN items ib ON ib.run_id = rb.id AND ib.item = ia.item "
		      "JOIN scores sb ON sb.item_id = ib.id AND sb.agg_id = ab.id "
		      "WHERE ra.name = $1 ORDER BY aa.kind, aa.key, ia.item",
		      2, v, NULL, NULL, 0, 1, 0};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	for (int i = 0; rc == SEG_OK && i < PQntuples(r); i++) {
		store_pair pr;
		pr.kind = (int)pgs_int(r, i, 0);
		pr.key = PQgetvalue(r, i, 1);
		pr.item = PQgetvalue(r, i, 2);
		pr.a = pgs_double(r, i, 3);
		pr.b = pgs_double(r, i, 4);
		fn(ctx, &pr);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			seg_error *err)
{
	PGresult *r = NULL;
	char k[16];
	const char *v[3] = {run, k, key};
	pgs_call c = {"SELECT (a.s1 / NULLIF(a.count, 0))::float8, a.count FROM aggs a JOIN runs r ON r.id = a.run_id "
		      "WHERE r.name = $1 AND a.kind = $2 AND a.key = $3",
		      3, v, NULL, NULL, 0, 1, 0};
	seg_status rc;

	*mean = NAN;
	*count = 0;
	snprintf(k, sizeof(k), "%d", kind);
	rc = pgs_run((pgs *)s, &c, &r, err);
	if (rc == SEG_OK && PQntuples(r) == 1) {
		*mean = pgs_double(r, 0, 0);
		*count = pgs_int(r, 0, 1);
	}
	PQclear(r);
	return rc;
}

seg_status pgs_delete_run(store *s, const char *run, seg_error *err)
{
	PGresult *r = NULL;
	const char *v[1] = {run};
	/* Not retried: a second run after a lost reply would say 404 for a run this call deleted. */
	pgs_call c = {"SELECT segloss_delete_run($1)", 1, v, NULL, NULL, 0, 0, 1};
	seg_status rc = pgs_run((pgs *)s, &c, &r, err);

	if (rc == SEG_OK && (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t") != 0))
		rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	PQclear(r);
	return rc;
}

seg_status pgs_item_mask(store *s, const char *run, int64_t seq, int which,
			 void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			 seg_error *err)
{
	PGresult *r = NULL;
	char sq[24];
	const char *v[2] = {run, sq};
	static const char *const sql[3] = {
		"SELECT i.item, m.item_id IS NOT NULL, m.target FROM runs r JOIN items i ON "
		"i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = $1 AND i.seq = $2",
		"SELECT i.item, m.item_id IS NOT NULL, m.prediction FROM runs r JOIN items i ON "
		"i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = $1 AND i.seq = $2",
		/* text in binary format is its bytes; NULL (kept before options were) reads as zero bytes */
		"SELECT i.item, m.item_id IS NOT NULL, m.options FROM runs r JOIN items i ON "
		"i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = $1 AND i.seq = $2",
	};
	pgs_call c = {sql[which == 2 ? 2 : which ? 1 : 0], 2, v, NULL, NULL, 1, 1, 0};
	seg_status rc;

	snprintf(sq, sizeof(sq), "%lld", (long long)seq);
	rc = pgs_run((pgs *)s, &c, &r, err);
	if (rc == SEG_OK && PQntuples(r) == 1) {
		if (pgs_bin_int(r, 0, 1))
			fn(ctx, PQgetvalue(r, 0, 0), (const uint8_t *)PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2));
		else
			rc = seg_fail(err, SEG_ENOTFOUND,
				      "item '%.200s' (seq %lld) of run '%s' was recorded without its masks (send "
				      "\"keep_masks\": true)",
				      PQgetvalue(r, 0, 0), (long long)seq, run);
	} else if (rc == SEG_OK) {
		/* No such item: say whether the run exists. */
		PQclear(r);
		r = NULL;
		pgs_call e = {"SELECT 1 FROM runs WHERE name = $1", 1, v, NULL, NULL, 0, 1, 0};
		rc = pgs_run((pgs *)s, &e, &r, err);
		if (rc == SEG_OK && PQntuples(r) == 1)
			rc = seg_fail(err, SEG_ENOTFOUND, "run '%s' has no item with seq %lld (an item posted again takes a new seq)",
				      run, (long long)seq);
		else if (rc == SEG_OK)
			rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	}
	PQclear(r);
	return rc;
}
