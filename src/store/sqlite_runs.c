/*
 * sqlite_runs.c — runs, items and their aggregates in the SQLite backend
 * (sqlite.c opens the file and says how the aggregates are kept).
 *
 * Recording an item is one BEGIN IMMEDIATE transaction: the global
 * version bumped, the run upserted (its sequence number taken), the item
 * updated in place or inserted, its old scores subtracted from the sums
 * (segloss_acc with sign -1) and its old masks dropped, the new scores
 * added, the extremes read again from the index of values when one of
 * them was replaced, and the masks kept when asked for and the run's
 * cap allows.
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/exact.h"

/* ---- runs ---------------------------------------------------------------------- */

/* Runs st (no rows wanted): SEG_OK when it is done. */
static seg_status step_done(lite *l, sqlite3_stmt *st, int write, seg_error *err)
{
	seg_status rc = sqlite3_step(st) == SQLITE_DONE ? SEG_OK : lite_fail(l, write, err);

	lite_done(st);
	return rc;
}

static const char sql_bump[] = "UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value";
static const char sql_run_upsert[] =
	"INSERT INTO runs(name, created, updated, version, last_seq) VALUES(?1, ?2, ?2, ?3, 1) "
	"ON CONFLICT(name) DO UPDATE SET updated = ?2, version = ?3, last_seq = last_seq + 1 "
	"RETURNING id, last_seq";
static const char sql_item_find[] = "SELECT id FROM items WHERE run_id = ?1 AND item = ?2";
/* The old scores leave the sums exactly; a removed extreme marks the key stale. */
static const char sql_aggs_remove[] =
	"UPDATE aggs SET rows = rows - 1, count = count - (o.value IS NOT NULL), "
	"s1 = segloss_acc(s1, o.value, -1, 0), s2 = segloss_acc(s2, o.value, -1, 1), "
	"stale = stale OR COALESCE(o.value <= aggs.vmin OR o.value >= aggs.vmax, 0) "
	"FROM (SELECT kind, key, value FROM scores WHERE item_id = ?1) AS o "
	"WHERE aggs.run_id = ?2 AND aggs.kind = o.kind AND aggs.key = o.key";
static const char sql_scores_delete[] = "DELETE FROM scores WHERE item_id = ?1";
static const char sql_masks_delete[] = "DELETE FROM item_masks WHERE item_id = ?1";
static const char sql_masks_held[] = "SELECT COALESCE(SUM(length(m.target) + length(m.prediction)), 0) FROM item_masks m "
				     "JOIN items i ON i.id = m.item_id WHERE i.run_id = ?1";
static const char sql_masks_insert[] = "INSERT INTO item_masks(item_id, target, prediction, options) VALUES(?1, ?2, ?3, ?4)";
static const char sql_item_update[] = "UPDATE items SET seq = ?2, time = ?3, width = ?4, height = ?5 WHERE id = ?1";
static const char sql_item_insert[] =
	"INSERT INTO items(run_id, item, seq, time, width, height) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_run_count[] = "UPDATE runs SET items = items + 1 WHERE id = ?1";
static const char sql_score_insert[] = "INSERT INTO scores(item_id, run_id, kind, key, value) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_aggs_add[] =
	"INSERT INTO aggs(run_id, kind, key, rows, count, s1, s2, vmin, vmax) "
	"VALUES(?1, ?2, ?3, 1, ?4 IS NOT NULL, segloss_acc(NULL, ?4, 1, 0), segloss_acc(NULL, ?4, 1, 1), ?4, ?4) "
	"ON CONFLICT(run_id, kind, key) DO UPDATE SET rows = rows + 1, count = count + (?4 IS NOT NULL), "
	"s1 = segloss_acc(s1, ?4, 1, 0), s2 = segloss_acc(s2, ?4, 1, 1), "
	"vmin = CASE WHEN vmin IS NULL OR ?4 < vmin THEN ?4 ELSE vmin END, "
	"vmax = CASE WHEN vmax IS NULL OR ?4 > vmax THEN ?4 ELSE vmax END";
static const char sql_aggs_restale[] =
	"UPDATE aggs SET vmin = (SELECT MIN(value) FROM scores s WHERE s.run_id = aggs.run_id AND s.kind = aggs.kind "
	"AND s.key = aggs.key), vmax = (SELECT MAX(value) FROM scores s WHERE s.run_id = aggs.run_id AND "
	"s.kind = aggs.kind AND s.key = aggs.key), stale = 0 WHERE run_id = ?1 AND stale";
static const char sql_aggs_empty[] = "DELETE FROM aggs WHERE run_id = ?1 AND rows = 0";

static seg_status bump_version(lite *l, int64_t *version, seg_error *err)
{
	sqlite3_stmt *st = lite_stmt(l, sql_bump, err);
	seg_status rc = SEG_OK;

	if (st == NULL)
		return SEG_ESTORE;
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	else
		rc = lite_fail(l, 1, err);
	lite_done(st);
	return rc;
}

/*
 * An item's masks, kept unless the run's would then pass cap; *held
 * receives what the run's masks held before (the caller holds the lock,
 * inside the transaction, the item's old masks already dropped).
 */
static seg_status keep_masks(lite *l, int64_t run_id, int64_t item_id, const store_masks *m, uint64_t cap, int *kept,
			     uint64_t *held, seg_error *err)
{
	sqlite3_stmt *st = lite_stmt(l, sql_masks_held, err);
	uint64_t size = (uint64_t)m->target_len + m->prediction_len;
	seg_status rc = SEG_OK;

	if (st == NULL)
		return SEG_ESTORE;
	sqlite3_bind_int64(st, 1, run_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*held = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = lite_fail(l, 0, err);
	lite_done(st);
	if (rc != SEG_OK || *held + size > cap)
		return rc;
	if ((st = lite_stmt(l, sql_masks_insert, err)) == NULL)
		return SEG_ESTORE;
	sqlite3_bind_int64(st, 1, item_id);
	sqlite3_bind_blob64(st, 2, m->target_len ? (const void *)m->target : "", m->target_len, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 3, m->prediction_len ? (const void *)m->prediction : "", m->prediction_len, SQLITE_STATIC);
	if (m->options)
		sqlite3_bind_text(st, 4, m->options, -1, SQLITE_STATIC);
	rc = step_done(l, st, 1, err);
	if (rc == SEG_OK)
		*kept = 1;
	return rc;
}

static seg_status record_locked(lite *l, const char *run, const char *item, int64_t t, int width, int height,
				const store_score *scores, size_t n, const store_masks *m, uint64_t cap, int *kept,
				uint64_t *held, seg_error *err)
{
	sqlite3_stmt *st;
	int64_t version = 0, run_id = 0, seq = 0, item_id = 0;
	seg_status rc;
	int replaced = 0;

	rc = bump_version(l, &version, err);
	if (rc != SEG_OK)
		return rc;
	if ((st = lite_stmt(l, sql_run_upsert, err)) == NULL)
		return SEG_ESTORE;
	sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, version);
	if (sqlite3_step(st) == SQLITE_ROW) {
		run_id = sqlite3_column_int64(st, 0);
		seq = sqlite3_column_int64(st, 1);
	} else {
		rc = lite_fail(l, 1, err);
	}
	lite_done(st);
	if (rc != SEG_OK)
		return rc;
	if ((st = lite_stmt(l, sql_item_find, err)) == NULL)
		return SEG_ESTORE;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		item_id = sqlite3_column_int64(st, 0);
		replaced = 1;
	} else if (r != SQLITE_DONE) {
		rc = lite_fail(l, 0, err);
	}
	lite_done(st);
	if (rc != SEG_OK)
		return rc;
	if (replaced) {
		/* The item keeps its row and gets the new sequence number; its old scores leave the sums. */
		if ((st = lite_stmt(l, sql_aggs_remove, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, item_id);
		sqlite3_bind_int64(st, 2, run_id);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		if ((st = lite_stmt(l, sql_scores_delete, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, item_id);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		/* A rewrite drops the masks the item kept (new ones follow when sent). */
		if ((st = lite_stmt(l, sql_masks_delete, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, item_id);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		if ((st = lite_stmt(l, sql_item_update, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, item_id);
		sqlite3_bind_int64(st, 2, seq);
		sqlite3_bind_int64(st, 3, t);
		sqlite3_bind_int(st, 4, width);
		sqlite3_bind_int(st, 5, height);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
	} else {
		if ((st = lite_stmt(l, sql_item_insert, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, seq);
		sqlite3_bind_int64(st, 4, t);
		sqlite3_bind_int(st, 5, width);
		sqlite3_bind_int(st, 6, height);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		item_id = sqlite3_last_insert_rowid(l->db);
		if ((st = lite_stmt(l, sql_run_count, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, run_id);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
	}
	for (size_t i = 0; i < n && rc == SEG_OK; i++) {
		if ((st = lite_stmt(l, sql_score_insert, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, item_id);
		sqlite3_bind_int64(st, 2, run_id);
		sqlite3_bind_int(st, 3, scores[i].kind);
		sqlite3_bind_text(st, 4, scores[i].key, -1, SQLITE_STATIC);
		if (isfinite(scores[i].value))
			sqlite3_bind_double(st, 5, scores[i].value);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		if ((st = lite_stmt(l, sql_aggs_add, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int(st, 2, scores[i].kind);
		sqlite3_bind_text(st, 3, scores[i].key, -1, SQLITE_STATIC);
		if (isfinite(scores[i].value))
			sqlite3_bind_double(st, 4, scores[i].value);
		rc = step_done(l, st, 1, err);
	}
	if (rc == SEG_OK && replaced) {
		if ((st = lite_stmt(l, sql_aggs_restale, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, run_id);
		if ((rc = step_done(l, st, 1, err)) != SEG_OK)
			return rc;
		if ((st = lite_stmt(l, sql_aggs_empty, err)) == NULL)
			return SEG_ESTORE;
		sqlite3_bind_int64(st, 1, run_id);
		rc = step_done(l, st, 1, err);
	}
	if (rc == SEG_OK && m)
		rc = keep_masks(l, run_id, item_id, m, cap, kept, held, err);
	return rc;
}

seg_status lite_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
		       const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap, int *kept,
		       uint64_t *run_bytes, seg_error *err)
{
	lite *l = (lite *)s;
	uint64_t held = 0;
	seg_status rc;

	*kept = 0;
	*run_bytes = 0;
	pthread_mutex_lock(&l->lock);
	rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK)
		rc = record_locked(l, run, item, time_ms, width, height, scores, nscores, m, run_cap, kept, &held, err);
	if (rc == SEG_OK)
		rc = lite_exec(l, "COMMIT", 1, err);
	if (rc != SEG_OK) {
		lite_rollback(l);
		*kept = 0;
	} else {
		*run_bytes = held;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_mask_target[] = "SELECT i.item, m.item_id IS NOT NULL, m.target FROM runs r JOIN items i ON "
				      "i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = ?1 AND "
				      "i.seq = ?2";
static const char sql_mask_prediction[] = "SELECT i.item, m.item_id IS NOT NULL, m.prediction FROM runs r JOIN items i "
					  "ON i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = ?1 "
					  "AND i.seq = ?2";
static const char sql_mask_options[] = "SELECT i.item, m.item_id IS NOT NULL, m.options FROM runs r JOIN items i "
				       "ON i.run_id = r.id LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = ?1 "
				       "AND i.seq = ?2";
static const char sql_run_exists[] = "SELECT 1 FROM runs WHERE name = ?1";

seg_status lite_item_mask(store *s, const char *run, int64_t seq, int which,
			  void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			  seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r = SQLITE_ERROR;

	pthread_mutex_lock(&l->lock);
	if ((st = lite_stmt(l, which == 2 ? sql_mask_options : which ? sql_mask_prediction : sql_mask_target, err)) == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW && sqlite3_column_int(st, 1))
			fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 2),
			   (size_t)sqlite3_column_bytes(st, 2));
		else if (r == SQLITE_ROW)
			rc = seg_fail(err, SEG_ENOTFOUND,
				      "item '%.200s' (seq %lld) of run '%s' was recorded without its masks (send "
				      "\"keep_masks\": true)",
				      (const char *)sqlite3_column_text(st, 0), (long long)seq, run);
		else if (r != SQLITE_DONE)
			rc = lite_fail(l, 0, err);
		lite_done(st);
	}
	if (rc == SEG_OK && r == SQLITE_DONE) {
		/* No such item: say whether the run exists. */
		if ((st = lite_stmt(l, sql_run_exists, err)) == NULL) {
			rc = SEG_ESTORE;
		} else {
			sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
			r = sqlite3_step(st);
			if (r == SQLITE_ROW)
				rc = seg_fail(err, SEG_ENOTFOUND,
					      "run '%s' has no item with seq %lld (an item posted again takes a new seq)", run,
					      (long long)seq);
			else if (r == SQLITE_DONE)
				rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
			else
				rc = lite_fail(l, 0, err);
			lite_done(st);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_version_run[] = "SELECT version FROM runs WHERE name = ?1";
static const char sql_version_all[] = "SELECT value FROM meta WHERE key = 'version'";

seg_status lite_version(store *s, const char *run, int64_t *version, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	*version = 0;
	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, run ? sql_version_run : sql_version_all, err);
	if (st == NULL) {
		rc = SEG_ESTORE;
	} else {
		if (run)
			sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*version = sqlite3_column_int64(st, 0);
		else if (r != SQLITE_DONE)
			rc = lite_fail(l, 0, err);
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_runs_all[] = "SELECT name, items, created, updated, version FROM runs ORDER BY name";
static const char sql_run_one[] = "SELECT name, items, created, updated, version FROM runs WHERE name = ?1";

static void read_run(sqlite3_stmt *st, store_run *r)
{
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(st, 0));
	r->count = sqlite3_column_int64(st, 1);
	r->created = sqlite3_column_int64(st, 2);
	r->updated = sqlite3_column_int64(st, 3);
	r->version = sqlite3_column_int64(st, 4);
}

seg_status lite_list_runs(store *s, store_run_fn fn, void *ctx, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r;

	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_runs_all, err);
	if (st == NULL)
		rc = SEG_ESTORE;
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		store_run run;
		read_run(st, &run);
		fn(ctx, &run);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

seg_status lite_get_run(store *s, const char *run, store_run *out, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_run_one, err);
	if (st == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			read_run(st, out);
		else if (r == SQLITE_DONE)
			rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
		else
			rc = lite_fail(l, 0, err);
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_run_keys[] = "SELECT a.kind, a.key FROM aggs a JOIN runs r ON r.id = a.run_id "
				   "WHERE r.name = ?1 ORDER BY a.kind, a.key";

seg_status lite_run_keys(store *s, const char *run, store_key_fn fn, void *ctx, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r;

	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_run_keys, err);
	if (st == NULL)
		rc = SEG_ESTORE;
	else
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1));
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_aggs[] = "SELECT a.kind, a.key, a.count, a.s1, a.s2, a.vmin, a.vmax, a.run_id FROM aggs a "
			       "JOIN runs r ON r.id = a.run_id WHERE r.name = ?1 ORDER BY a.kind, a.key";
/* Two values by rank from the index of values, from whichever end is nearer. */
static const char sql_rank_up[] = "SELECT value FROM scores WHERE run_id = ?1 AND kind = ?2 AND key = ?3 AND value "
				  "IS NOT NULL ORDER BY value LIMIT 2 OFFSET ?4";
static const char sql_rank_down[] = "SELECT value FROM scores WHERE run_id = ?1 AND kind = ?2 AND key = ?3 AND value "
				    "IS NOT NULL ORDER BY value DESC LIMIT 2 OFFSET ?4";

/* The values at ranks k and min(k + 1, n - 1) of a key's non-null values, sorted ascending. */
static seg_status ranks(lite *l, int64_t run_id, int kind, const char *key, int64_t n, int64_t k, double *lo,
			double *hi, seg_error *err)
{
	int64_t k1 = k + 1 < n ? k + 1 : n - 1;
	int down = k >= n / 2;
	sqlite3_stmt *st = lite_stmt(l, down ? sql_rank_down : sql_rank_up, err);
	double v[2] = {NAN, NAN};
	int got = 0, r;

	if (st == NULL)
		return SEG_ESTORE;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, down ? n - 1 - k1 : k);
	while (got < 2 && (r = sqlite3_step(st)) == SQLITE_ROW)
		v[got++] = sqlite3_column_double(st, 0);
	if (got < 2 && r != SQLITE_DONE) {
		lite_done(st);
		return lite_fail(l, 0, err);
	}
	lite_done(st);
	if (down) {
		/* descending from rank k1: v[0] is rank k1, v[1] rank k1 - 1 */
		*hi = v[0];
		*lo = k1 == k ? v[0] : v[1];
	} else {
		*lo = v[0];
		*hi = got > 1 ? v[1] : v[0];
	}
	return SEG_OK;
}

seg_status lite_aggregates(store *s, const char *run, int percentiles, store_agg_fn fn, void *ctx,
				  seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r;

	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_aggs, err);
	if (st == NULL)
		rc = SEG_ESTORE;
	else
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		exact_sum s1, s2;
		char key[256];
		store_agg a;
		snprintf(key, sizeof(key), "%s", (const char *)sqlite3_column_text(st, 1));
		a.kind = sqlite3_column_int(st, 0);
		a.key = key;
		a.count = sqlite3_column_int64(st, 2);
		if (exact_decode(&s1, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3)) != 0 ||
		    exact_decode(&s2, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4)) != 0) {
			rc = seg_fail(err, SEG_ESTORE, "store: the sums of '%s' are damaged", key);
			break;
		}
		a.sum = exact_value(&s1);
		a.mean = exact_mean(&s1, a.count);
		a.std = exact_std(&s1, &s2, a.count);
		a.min = a.count > 0 ? sqlite3_column_double(st, 5) : NAN;
		a.max = a.count > 0 ? sqlite3_column_double(st, 6) : NAN;
		double *out[3] = {&a.p05, &a.median, &a.p95};
		for (int p = 0; p < 3; p++) {
			*out[p] = NAN;
			if (!percentiles || a.count == 0 || rc != SEG_OK)
				continue;
			double lo = NAN, hi = NAN;
			int64_t k = store_quantile_rank(a.count, store_percentiles[p]);
			rc = ranks(l, sqlite3_column_int64(st, 7), a.kind, key, a.count, k, &lo, &hi, err);
			if (rc == SEG_OK)
				*out[p] = store_quantile_of(lo, hi, (size_t)a.count, store_percentiles[p]);
		}
		if (rc == SEG_OK)
			fn(ctx, &a);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_item_scores[] = "SELECT kind, key, value FROM scores WHERE item_id = ?1 ORDER BY kind, key";

/* Scores of one item, in kind, key order, into growable arrays (keys packed in one buffer). */
static seg_status item_scores(lite *l, int64_t item_id, store_score **scores, size_t *n, size_t *cap, char **keys,
			      size_t *keys_cap, seg_error *err)
{
	sqlite3_stmt *st = lite_stmt(l, sql_item_scores, err);
	size_t used = 0, offsets[4096];
	seg_status rc = SEG_OK;
	int r;

	*n = 0;
	if (st == NULL)
		return SEG_ESTORE;
	sqlite3_bind_int64(st, 1, item_id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < 4096) {
		const char *k = (const char *)sqlite3_column_text(st, 1);
		size_t kl = strlen(k) + 1;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 32;
			store_score *t = realloc(*scores, nc * sizeof(**scores));
			if (t == NULL) {
				rc = seg_fail(err, SEG_ENOMEM, "out of memory");
				break;
			}
			*scores = t;
			*cap = nc;
		}
		if (used + kl > *keys_cap) {
			size_t nc = (*keys_cap ? *keys_cap * 2 : 1024) + kl;
			char *t = realloc(*keys, nc);
			if (t == NULL) {
				rc = seg_fail(err, SEG_ENOMEM, "out of memory");
				break;
			}
			*keys = t;
			*keys_cap = nc;
		}
		memcpy(*keys + used, k, kl);
		offsets[*n] = used;
		used += kl;
		(*scores)[*n].kind = sqlite3_column_int(st, 0);
		(*scores)[*n].value = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
		(*n)++;
	}
	if (rc == SEG_OK && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = lite_fail(l, 0, err);
	for (size_t i = 0; rc == SEG_OK && i < *n; i++)
		(*scores)[i].key = *keys + offsets[i];
	lite_done(st);
	return rc;
}

static const char sql_items_seq[] = "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				    "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 AND i.seq > ?2 ORDER BY i.seq LIMIT ?3";
static const char sql_items_newest[] = "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				       "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 AND i.seq > ?2 "
				       "ORDER BY i.seq DESC LIMIT ?3";
static const char sql_items_desc[] = "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				     "JOIN runs r ON r.id = i.run_id "
				     "LEFT JOIN scores s ON s.item_id = i.id AND s.kind = ?2 AND s.key = ?3 "
				     "WHERE r.name = ?1 ORDER BY s.value IS NULL, s.value DESC, i.seq LIMIT ?4";
static const char sql_items_asc[] = "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				    "JOIN runs r ON r.id = i.run_id "
				    "LEFT JOIN scores s ON s.item_id = i.id AND s.kind = ?2 AND s.key = ?3 "
				    "WHERE r.name = ?1 ORDER BY s.value IS NULL, s.value ASC, i.seq LIMIT ?4";

seg_status lite_items(store *s, const char *run, const store_items_query *q, store_item_fn fn, void *ctx,
			     int64_t *next, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	store_score *scores = NULL;
	char *keys = NULL;
	size_t cap = 0, keys_cap = 0;
	seg_status rc = SEG_OK;
	int r;

	*next = q->after;
	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, q->order_key ? (q->desc ? sql_items_desc : sql_items_asc)
				       : (q->desc ? sql_items_newest : sql_items_seq),
		       err);
	if (st == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		if (q->order_key) {
			sqlite3_bind_int(st, 2, q->order_kind);
			sqlite3_bind_text(st, 3, q->order_key, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 4, q->limit);
		} else {
			sqlite3_bind_int64(st, 2, q->after);
			sqlite3_bind_int(st, 3, q->limit);
		}
	}
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		store_item it;
		size_t n = 0;
		char name[STORE_ITEM_MAX + 1];
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 2));
		it.seq = sqlite3_column_int64(st, 1);
		it.item = name;
		it.time = sqlite3_column_int64(st, 3);
		it.width = sqlite3_column_int(st, 4);
		it.height = sqlite3_column_int(st, 5);
		rc = item_scores(l, sqlite3_column_int64(st, 0), &scores, &n, &cap, &keys, &keys_cap, err);
		if (rc != SEG_OK)
			break;
		it.scores = scores;
		it.nscores = n;
		if (it.seq > *next)
			*next = it.seq;
		fn(ctx, &it);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	free(scores);
	free(keys);
	return rc;
}

static const char sql_compare[] = "SELECT sa.kind, sa.key, ia.item, sa.value, sb.value FROM runs ra "
				  "JOIN items ia ON ia.run_id = ra.id "
				  "JOIN runs rb ON rb.name = ?2 "
				  "JOIN items ib ON ib.run_id = rb.id AND ib.item = ia.item "
				  "JOIN scores sa ON sa.item_id = ia.id "
				  "JOIN scores sb ON sb.item_id = ib.id AND sb.kind = sa.kind AND sb.key = sa.key "
				  "WHERE ra.name = ?1 ORDER BY sa.kind, sa.key, ia.item";

seg_status lite_compare(store *s, const char *a, const char *b, store_pair_fn fn, void *ctx, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;
	int r;

	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_compare, err);
	if (st == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	}
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		store_pair p;
		p.kind = sqlite3_column_int(st, 0);
		p.key = (const char *)sqlite3_column_text(st, 1);
		p.item = (const char *)sqlite3_column_text(st, 2);
		p.a = sqlite3_column_type(st, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 3);
		p.b = sqlite3_column_type(st, 4) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 4);
		fn(ctx, &p);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = lite_fail(l, 0, err);
	lite_done(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_key_mean[] = "SELECT a.count, a.s1 FROM aggs a JOIN runs r ON r.id = a.run_id "
				   "WHERE r.name = ?1 AND a.kind = ?2 AND a.key = ?3";

seg_status lite_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
				seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	seg_status rc = SEG_OK;

	*mean = NAN;
	*count = 0;
	pthread_mutex_lock(&l->lock);
	st = lite_stmt(l, sql_key_mean, err);
	if (st == NULL) {
		rc = SEG_ESTORE;
	} else {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, kind);
		sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			exact_sum s1;
			*count = sqlite3_column_int64(st, 0);
			if (exact_decode(&s1, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)) != 0)
				rc = seg_fail(err, SEG_ESTORE, "store: the sums of '%s' are damaged", key);
			else if (*count > 0)
				*mean = exact_mean(&s1, *count);
		} else if (r != SQLITE_DONE) {
			rc = lite_fail(l, 0, err);
		}
		lite_done(st);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static const char sql_run_delete[] = "DELETE FROM runs WHERE name = ?1";

seg_status lite_delete_run(store *s, const char *run, seg_error *err)
{
	lite *l = (lite *)s;
	sqlite3_stmt *st;
	int64_t version;
	seg_status rc;

	pthread_mutex_lock(&l->lock);
	rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK && (st = lite_stmt(l, sql_run_delete, err)) == NULL)
		rc = SEG_ESTORE;
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		rc = step_done(l, st, 1, err);
		if (rc == SEG_OK && sqlite3_changes(l->db) == 0)
			rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	}
	if (rc == SEG_OK)
		rc = bump_version(l, &version, err);
	if (rc == SEG_OK)
		rc = lite_exec(l, "COMMIT", 1, err);
	if (rc != SEG_OK)
		lite_rollback(l);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

