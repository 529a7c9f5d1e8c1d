/*
 * sqlite.c — the SQLite backend: one daemon, one file. Opening, the
 * schema migrations, the shared helpers and the table of functions;
 * runs and items are in sqlite_runs.c, jobs in sqlite_jobs.c.
 *
 * One connection, one mutex: statements from all threads are serialised,
 * which is also what SQLite's single-writer model needs; WAL mode keeps
 * a reader from another process from blocking us. Writes run inside
 * BEGIN IMMEDIATE ... COMMIT, so a run's sequence numbers are assigned
 * and committed in the same order, and an `after=` cursor can never skip
 * an item that commits late. Statements are prepared once and kept.
 *
 * Schema versions live in schema_migrations; opening applies the
 * migrations a file lacks, in order, each in its own transaction, so a
 * later release can upgrade a database in place.
 *
 * Every run-changing write bumps one global counter (meta.version) and
 * stamps it on the run, so ETags built from it never repeat, even when a
 * run is deleted and created again.
 *
 * Aggregates are kept as items are written (table aggs, one row per run
 * and key): counts, min and max, and the sums of the values and of their
 * squares as exact fixed-point integers (exact.c) in blobs, updated by
 * the SQL function segloss_acc. Replacing an item subtracts its old
 * values exactly, so the sums always equal those of the items the run
 * holds; when a replaced value was the key's min or max, both are read
 * again from the index of values (scores_value), which also gives the
 * percentiles by rank.
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/exact.h"

static const char *const migrations[] = {
	/* 1: runs, items, scores, jobs */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES('version', 0);"
	"CREATE TABLE runs("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  version INTEGER NOT NULL DEFAULT 0,"
	"  last_seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE items("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  item TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  width INTEGER NOT NULL,"
	"  height INTEGER NOT NULL,"
	"  UNIQUE(run_id, item));"
	"CREATE INDEX items_seq ON items(run_id, seq);"
	"CREATE TABLE scores("
	"  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,"
	"  kind INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value REAL,"
	"  PRIMARY KEY(item_id, kind, key)) WITHOUT ROWID;"
	"CREATE TABLE jobs("
	"  id TEXT PRIMARY KEY,"
	"  idem_key TEXT UNIQUE,"
	"  body_hash TEXT,"
	"  status INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  started INTEGER NOT NULL DEFAULT 0,"
	"  finished INTEGER NOT NULL DEFAULT 0,"
	"  total INTEGER NOT NULL,"
	"  done INTEGER NOT NULL DEFAULT 0,"
	"  cancel INTEGER NOT NULL DEFAULT 0,"
	"  content_type TEXT NOT NULL,"
	"  body BLOB NOT NULL,"
	"  result TEXT,"
	"  error TEXT,"
	"  error_status INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_queue ON jobs(status, created);",
	/*
	 * 2: jobs get a sequence number, the cursor of GET /v1/jobs (newest
	 * first). Existing jobs are numbered in insertion order; meta.job_seq
	 * hands out the next ones, so a number is never given twice, even
	 * after the newest job is purged.
	 */
	"ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
	"UPDATE jobs SET seq = rowid;"
	"INSERT INTO meta VALUES('job_seq', (SELECT COALESCE(MAX(seq), 0) FROM jobs));"
	"CREATE UNIQUE INDEX jobs_seq ON jobs(seq);",
	/*
	 * 3: keep_masks — an item's target and prediction as uploaded, kept
	 * with its scores and gone with them (a rewrite or a deleted run).
	 */
	"CREATE TABLE item_masks("
	"  item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,"
	"  target BLOB NOT NULL,"
	"  prediction BLOB NOT NULL);",
	/*
	 * 4: aggregates kept as items are written. Runs count their items;
	 * scores carry their run, indexed by value (min and max after a
	 * replacement, percentiles by rank); aggs holds per run and key the
	 * counts, the exact sums (segloss_sum, segloss_sumsq: exact.c) and the
	 * extremes, filled here from the items a file already has.
	 */
	"ALTER TABLE runs ADD COLUMN items INTEGER NOT NULL DEFAULT 0;"
	"UPDATE runs SET items = (SELECT COUNT(*) FROM items i WHERE i.run_id = runs.id);"
	"ALTER TABLE scores ADD COLUMN run_id INTEGER NOT NULL DEFAULT 0;"
	"UPDATE scores SET run_id = (SELECT run_id FROM items i WHERE i.id = scores.item_id);"
	"CREATE INDEX scores_value ON scores(run_id, kind, key, value);"
	"CREATE TABLE aggs("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  kind INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  rows INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  s1 BLOB NOT NULL,"
	"  s2 BLOB NOT NULL,"
	"  vmin REAL,"
	"  vmax REAL,"
	"  stale INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY(run_id, kind, key)) WITHOUT ROWID;"
	"INSERT INTO aggs(run_id, kind, key, rows, count, s1, s2, vmin, vmax) "
	"  SELECT run_id, kind, key, COUNT(*), COUNT(value), segloss_sum(value), segloss_sumsq(value), MIN(value), "
	"  MAX(value) FROM scores GROUP BY run_id, kind, key;",
	/*
	 * 5: the options an item's masks are read with (logits, threshold,
	 * kinds, classes: JSON text), kept beside them. NULL for masks kept
	 * before.
	 */
	"ALTER TABLE item_masks ADD COLUMN options TEXT;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- helpers shared with sqlite_jobs.c ---------------------------------------------- */

seg_status lite_fail(lite *l, int write, seg_error *err)
{
	if (write)
		l->write_errors++;
	return seg_fail(err, SEG_ESTORE, "store: %s", sqlite3_errmsg(l->db));
}

/*
 * SQLite keeps writing through the descriptor it opened, so a database
 * file made read-only while we run would go unnoticed until a restart.
 * Every write transaction asks first (one access(2), about a microsecond),
 * so the fault shows at once and clears as soon as it is repaired.
 */
static seg_status writable(lite *l, seg_error *err)
{
	if (l->path && access(l->path, W_OK) != 0) {
		l->write_errors++;
		return seg_fail(err, SEG_ESTORE, "store: the database file '%s' is not writable (%s)", l->path,
				strerror(errno));
	}
	return SEG_OK;
}

seg_status lite_exec(lite *l, const char *sql, int write, seg_error *err)
{
	if (write && strncmp(sql, "BEGIN", 5) == 0 && writable(l, err) != SEG_OK)
		return SEG_ESTORE;
	if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return lite_fail(l, write, err);
	return SEG_OK;
}

sqlite3_stmt *lite_stmt(lite *l, const char *sql, seg_error *err)
{
	sqlite3_stmt *st = NULL;

	for (int i = 0; i < l->ncache; i++)
		if (l->cache[i].sql == sql)
			return l->cache[i].st;
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		lite_fail(l, 0, err);
		return NULL;
	}
	if (l->ncache < LITE_CACHE) {
		l->cache[l->ncache].sql = sql;
		l->cache[l->ncache].st = st;
		l->ncache++;
	} else {
		/* Cannot happen with the statements of this file; keep working, slower. */
		sqlite3_finalize(l->cache[LITE_CACHE - 1].st);
		l->cache[LITE_CACHE - 1].sql = sql;
		l->cache[LITE_CACHE - 1].st = st;
	}
	return st;
}

void lite_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

void lite_rollback(lite *l)
{
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

void lite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* ---- exact sums as SQL functions ------------------------------------------------------ */

static int value_of(sqlite3_value *v, double *x)
{
	if (sqlite3_value_type(v) == SQLITE_NULL)
		return 0;
	*x = sqlite3_value_double(v);
	return 1;
}

static void result_sum(sqlite3_context *cx, const exact_sum *s)
{
	uint8_t out[EXACT_BLOB_MAX];
	size_t n = exact_encode(s, out);

	sqlite3_result_blob(cx, out, (int)n, SQLITE_TRANSIENT);
}

/* segloss_acc(sum, value, sign, square): sum (a blob, NULL for zero) plus sign * value (or value^2). */
static void fn_acc(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	exact_sum s;
	double x;

	(void)argc;
	if (exact_decode(&s, sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0])) != 0) {
		sqlite3_result_error(cx, "segloss_acc: a malformed sum", -1);
		return;
	}
	if (value_of(argv[1], &x)) {
		int sign = sqlite3_value_int(argv[2]) < 0 ? -1 : 1;
		if (sqlite3_value_int(argv[3]))
			exact_add_square(&s, x, sign);
		else
			exact_add(&s, x, sign);
	}
	result_sum(cx, &s);
}

static void sum_step(sqlite3_context *cx, int argc, sqlite3_value **argv, int square)
{
	exact_sum *s = sqlite3_aggregate_context(cx, sizeof(*s)); /* zeroed on first use */
	double x;

	(void)argc;
	if (s && value_of(argv[0], &x)) {
		if (square)
			exact_add_square(s, x, 1);
		else
			exact_add(s, x, 1);
	}
}

static void fn_sum_step(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	sum_step(cx, argc, argv, 0);
}

static void fn_sumsq_step(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	sum_step(cx, argc, argv, 1);
}

static void fn_sum_final(sqlite3_context *cx)
{
	exact_sum zero, *s = sqlite3_aggregate_context(cx, 0);

	exact_clear(&zero);
	result_sum(cx, s ? s : &zero);
}

static int register_functions(sqlite3 *db)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;

	if (sqlite3_create_function(db, "segloss_acc", 4, flags, NULL, fn_acc, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function(db, "segloss_sum", 1, flags, NULL, NULL, fn_sum_step, fn_sum_final) != SQLITE_OK ||
	    sqlite3_create_function(db, "segloss_sumsq", 1, flags, NULL, NULL, fn_sumsq_step, fn_sum_final) != SQLITE_OK)
		return -1;
	return 0;
}

/* ---- opening ------------------------------------------------------------------------- */

/* mkdir -p of the folder holding path. */
static int make_parent(const char *path)
{
	char dir[4096];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, path, n + 1);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static seg_status migrate(lite *l, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	int current = 0;
	seg_status rc;

	rc = lite_exec(l,
		       "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT "
		       "NULL)",
		       1, err);
	if (rc != SEG_OK)
		return rc;
	if (sqlite3_prepare_v2(l->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &st, NULL) !=
	    SQLITE_OK)
		return lite_fail(l, 0, err);
	if (sqlite3_step(st) == SQLITE_ROW)
		current = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (current > NMIGRATIONS)
		return seg_fail(err, SEG_ESTORE, "store: the database has schema version %d, newer than this seglossd (%d)",
				current, NMIGRATIONS);
	for (int v = current + 1; v <= NMIGRATIONS; v++) {
		char note[96];
		rc = lite_exec(l, "BEGIN IMMEDIATE", 1, err);
		if (rc == SEG_OK)
			rc = lite_exec(l, migrations[v - 1], 1, err);
		snprintf(note, sizeof(note), "INSERT INTO schema_migrations VALUES(%d, %lld)", v, (long long)store_now_ms());
		if (rc == SEG_OK)
			rc = lite_exec(l, note, 1, err);
		if (rc == SEG_OK)
			rc = lite_exec(l, "COMMIT", 1, err);
		if (rc != SEG_OK) {
			lite_rollback(l);
			return rc;
		}
	}
	return SEG_OK;
}

static const store_ops lite_ops;

static void lite_close(store *s)
{
	lite *l = (lite *)s;

	for (int i = 0; i < l->ncache; i++)
		sqlite3_finalize(l->cache[i].st);
	if (l->db)
		sqlite3_close(l->db);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l);
}

store *store_sqlite_open(const store_config *cfg, seg_error *err)
{
	const char *path = cfg->where;
	lite *l = calloc(1, sizeof(*l));
	int memory = strcmp(path, ":memory:") == 0;

	if (l == NULL) {
		seg_fail(err, SEG_ENOMEM, "store: out of memory");
		return NULL;
	}
	l->base.ops = &lite_ops;
	pthread_mutex_init(&l->lock, NULL);
	if (!memory && make_parent(path) != 0) {
		seg_fail(err, SEG_ESTORE, "store: cannot create the folder of '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		seg_fail(err, SEG_ESTORE, "store: cannot open '%s': %s", path,
			 l->db ? sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	if (!memory) {
		l->path = strdup(path);
		if (l->path == NULL) {
			seg_fail(err, SEG_ENOMEM, "store: out of memory");
			goto fail;
		}
	}
	sqlite3_busy_timeout(l->db, 5000);
	sqlite3_extended_result_codes(l->db, 0);
	if (register_functions(l->db) != 0) {
		seg_fail(err, SEG_ESTORE, "store: cannot register functions: %s", sqlite3_errmsg(l->db));
		goto fail;
	}
	if (lite_exec(l, "PRAGMA foreign_keys = ON", 0, err) != SEG_OK ||
	    (!memory && lite_exec(l, "PRAGMA journal_mode = WAL", 0, err) != SEG_OK) ||
	    lite_exec(l, cfg->sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", 0, err) != SEG_OK ||
	    migrate(l, err) != SEG_OK)
		goto fail;
	return &l->base;
fail:
	lite_close(&l->base);
	return NULL;
}

static void lite_health(store *s, store_health *h)
{
	lite *l = (lite *)s;
	sqlite3_stmt *a = NULL, *b = NULL;
	seg_error err = {0};

	h->up = 1;
	pthread_mutex_lock(&l->lock);
	h->write_errors = l->write_errors;
	if (sqlite3_prepare_v2(l->db, "PRAGMA page_count", -1, &a, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(l->db, "PRAGMA page_size", -1, &b, NULL) == SQLITE_OK && sqlite3_step(a) == SQLITE_ROW &&
	    sqlite3_step(b) == SQLITE_ROW)
		h->size_bytes = sqlite3_column_int64(a, 0) * sqlite3_column_int64(b, 0);
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	pthread_mutex_unlock(&l->lock);
	h->jobs_known = lite_job_counts(s, h->jobs, &err) == SEG_OK;
}

static void lite_set_job_hook(store *s, void (*fn)(void *arg), void *arg)
{
	/* One daemon per file: the service wakes its own runner. */
	(void)s;
	(void)fn;
	(void)arg;
}

static const store_ops lite_ops = {
	.name = "sqlite",
	.close = lite_close,
	.health = lite_health,
	.set_job_hook = lite_set_job_hook,
	.record = lite_record,
	.item_mask = lite_item_mask,
	.version = lite_version,
	.list_runs = lite_list_runs,
	.get_run = lite_get_run,
	.run_keys = lite_run_keys,
	.aggregates = lite_aggregates,
	.items = lite_items,
	.compare = lite_compare,
	.key_mean = lite_key_mean,
	.delete_run = lite_delete_run,
	.job_insert = lite_job_insert,
	.job_get = lite_job_get,
	.jobs_list = lite_jobs_list,
	.job_claim = lite_job_claim,
	.job_progress = lite_job_progress,
	.job_finish = lite_job_finish,
	.job_release = lite_job_release,
	.job_cancel = lite_job_cancel,
	.job_requeue = lite_job_requeue,
	.job_purge = lite_job_purge,
	.job_counts = lite_job_counts,
};
