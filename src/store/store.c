/*
 * store.c — every SQL statement of segloss.
 *
 * One connection, one mutex: statements from all threads are serialised,
 * which is also what SQLite's single-writer model needs; WAL mode keeps
 * a reader from another process from blocking us. Writes run inside
 * BEGIN IMMEDIATE ... COMMIT, so a run's sequence numbers are assigned
 * and committed in the same order, and an `after=` cursor can never skip
 * an item that commits late.
 *
 * Schema versions live in schema_migrations; store_open applies the
 * migrations a file lacks, in order, each in its own transaction, so a
 * later release can upgrade a database in place.
 *
 * Every run-changing write bumps one global counter (meta.version) and
 * stamps it on the run, so ETags built from it never repeat, even when a
 * run is deleted and created again. Jobs are numbered the same way
 * (meta.job_seq), for a listing cursor that never skips or repeats one.
 */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	uint64_t write_errors;
	char *path; /* NULL in memory */
};

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
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *store_job_status_name(store_job_status st)
{
	static const char *const names[JOB_STATUS_COUNT] = {"queued", "running", "done", "failed", "canceled"};

	return (unsigned)st < JOB_STATUS_COUNT ? names[st] : "unknown";
}

/* Records SQLite's reason. Write failures are counted (the caller holds the lock). */
static seg_status db_fail(store *s, int write, seg_error *err)
{
	if (write)
		s->write_errors++;
	return seg_fail(err, SEG_ESTORE, "store: %s", sqlite3_errmsg(s->db));
}

/*
 * SQLite keeps writing through the descriptor it opened, so a database
 * file made read-only while we run would go unnoticed until a restart.
 * Every write transaction asks first (one access(2), about a microsecond),
 * so the fault shows at once and clears as soon as it is repaired.
 */
static seg_status writable(store *s, seg_error *err)
{
	if (s->path && access(s->path, W_OK) != 0) {
		s->write_errors++;
		return seg_fail(err, SEG_ESTORE, "store: the database file '%s' is not writable (%s)", s->path,
				strerror(errno));
	}
	return SEG_OK;
}

static seg_status exec(store *s, const char *sql, int write, seg_error *err)
{
	if (write && strncmp(sql, "BEGIN", 5) == 0 && writable(s, err) != SEG_OK)
		return SEG_ESTORE;
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(s, write, err);
	return SEG_OK;
}

static seg_status prepare(store *s, const char *sql, sqlite3_stmt **st, seg_error *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(s, 0, err);
	}
	return SEG_OK;
}

static void rollback(store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

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

static seg_status migrate(store *s, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	int current = 0;
	seg_status rc;

	rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
		  1, err);
	if (rc != SEG_OK)
		return rc;
	rc = prepare(s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, err);
	if (rc != SEG_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		current = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (current > NMIGRATIONS)
		return seg_fail(err, SEG_ESTORE, "store: the database has schema version %d, newer than this seglossd (%d)",
				current, NMIGRATIONS);
	for (int v = current + 1; v <= NMIGRATIONS; v++) {
		char note[96];
		rc = exec(s, "BEGIN IMMEDIATE", 1, err);
		if (rc == SEG_OK)
			rc = exec(s, migrations[v - 1], 1, err);
		snprintf(note, sizeof(note), "INSERT INTO schema_migrations VALUES(%d, %lld)", v, (long long)now_ms());
		if (rc == SEG_OK)
			rc = exec(s, note, 1, err);
		if (rc == SEG_OK)
			rc = exec(s, "COMMIT", 1, err);
		if (rc != SEG_OK) {
			rollback(s);
			return rc;
		}
	}
	return SEG_OK;
}

store *store_open(const char *path, seg_error *err)
{
	store *s = calloc(1, sizeof(*s));
	int memory = strcmp(path, ":memory:") == 0;

	if (s == NULL) {
		seg_fail(err, SEG_ENOMEM, "store: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (!memory && make_parent(path) != 0) {
		seg_fail(err, SEG_ESTORE, "store: cannot create the folder of '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		seg_fail(err, SEG_ESTORE, "store: cannot open '%s': %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	if (!memory) {
		s->path = strdup(path);
		if (s->path == NULL) {
			seg_fail(err, SEG_ENOMEM, "store: out of memory");
			goto fail;
		}
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 0);
	if (exec(s, "PRAGMA foreign_keys = ON", 0, err) != SEG_OK ||
	    (!memory && exec(s, "PRAGMA journal_mode = WAL", 0, err) != SEG_OK) ||
	    exec(s, "PRAGMA synchronous = NORMAL", 0, err) != SEG_OK || migrate(s, err) != SEG_OK)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(store *s)
{
	if (s == NULL)
		return;
	if (s->db)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

int64_t store_size_bytes(store *s)
{
	sqlite3_stmt *a = NULL, *b = NULL;
	int64_t size = 0;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "PRAGMA page_count", -1, &a, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &b, NULL) == SQLITE_OK && sqlite3_step(a) == SQLITE_ROW &&
	    sqlite3_step(b) == SQLITE_ROW)
		size = sqlite3_column_int64(a, 0) * sqlite3_column_int64(b, 0);
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	pthread_mutex_unlock(&s->lock);
	return size;
}

uint64_t store_write_errors(store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->write_errors;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- runs ---------------------------------------------------------------------- */

static seg_status bump_version(store *s, int64_t *version, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc = prepare(s, "UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value", &st, err);

	if (rc != SEG_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	else
		rc = db_fail(s, 1, err);
	sqlite3_finalize(st);
	return rc;
}

static seg_status record_locked(store *s, const char *run, const char *item, int64_t t, int width, int height,
				const store_score *scores, size_t n, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t version = 0, run_id = 0, seq = 0, item_id;
	seg_status rc;

	rc = bump_version(s, &version, err);
	if (rc != SEG_OK)
		return rc;
	rc = prepare(s,
		     "INSERT INTO runs(name, created, updated, version, last_seq) VALUES(?1, ?2, ?2, ?3, 1) "
		     "ON CONFLICT(name) DO UPDATE SET updated = ?2, version = ?3, last_seq = last_seq + 1 "
		     "RETURNING id, last_seq",
		     &st, err);
	if (rc != SEG_OK)
		return rc;
	sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, version);
	if (sqlite3_step(st) == SQLITE_ROW) {
		run_id = sqlite3_column_int64(st, 0);
		seq = sqlite3_column_int64(st, 1);
	} else {
		rc = db_fail(s, 1, err);
	}
	sqlite3_finalize(st);
	if (rc != SEG_OK)
		return rc;
	/* Replacing an item deletes its scores through ON DELETE CASCADE. */
	rc = prepare(s, "DELETE FROM items WHERE run_id = ?1 AND item = ?2", &st, err);
	if (rc != SEG_OK)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(s, 1, err);
	sqlite3_finalize(st);
	if (rc != SEG_OK)
		return rc;
	rc = prepare(s, "INSERT INTO items(run_id, item, seq, time, width, height) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &st,
		     err);
	if (rc != SEG_OK)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_int64(st, 4, t);
	sqlite3_bind_int(st, 5, width);
	sqlite3_bind_int(st, 6, height);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_fail(s, 1, err);
	sqlite3_finalize(st);
	if (rc != SEG_OK)
		return rc;
	item_id = sqlite3_last_insert_rowid(s->db);
	rc = prepare(s, "INSERT INTO scores(item_id, kind, key, value) VALUES(?1, ?2, ?3, ?4)", &st, err);
	if (rc != SEG_OK)
		return rc;
	for (size_t i = 0; i < n && rc == SEG_OK; i++) {
		sqlite3_bind_int64(st, 1, item_id);
		sqlite3_bind_int(st, 2, scores[i].kind);
		sqlite3_bind_text(st, 3, scores[i].key, -1, SQLITE_STATIC);
		if (isfinite(scores[i].value))
			sqlite3_bind_double(st, 4, scores[i].value);
		else
			sqlite3_bind_null(st, 4);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(s, 1, err);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

seg_status store_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			const store_score *scores, size_t nscores, seg_error *err)
{
	seg_status rc;

	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK)
		rc = record_locked(s, run, item, time_ms, width, height, scores, nscores, err);
	if (rc == SEG_OK)
		rc = exec(s, "COMMIT", 1, err);
	if (rc != SEG_OK)
		rollback(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_version(store *s, const char *run, int64_t *version, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	*version = 0;
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, run ? "SELECT version FROM runs WHERE name = ?1" : "SELECT value FROM meta WHERE key = 'version'",
		     &st, err);
	if (rc == SEG_OK) {
		if (run)
			sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*version = sqlite3_column_int64(st, 0);
		else if (r != SQLITE_DONE)
			rc = db_fail(s, 0, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const char run_columns[] =
	"SELECT r.name, (SELECT COUNT(*) FROM items i WHERE i.run_id = r.id), r.created, r.updated, r.version FROM runs r";

static void read_run(sqlite3_stmt *st, store_run *r)
{
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(st, 0));
	r->count = sqlite3_column_int64(st, 1);
	r->created = sqlite3_column_int64(st, 2);
	r->updated = sqlite3_column_int64(st, 3);
	r->version = sqlite3_column_int64(st, 4);
}

seg_status store_list_runs(store *s, void (*fn)(void *ctx, const store_run *r), void *ctx, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	seg_status rc;
	int r;

	snprintf(sql, sizeof(sql), "%s ORDER BY r.name", run_columns);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, sql, &st, err);
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		store_run run;
		read_run(st, &run);
		fn(ctx, &run);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_get_run(store *s, const char *run, store_run *out, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	seg_status rc;

	snprintf(sql, sizeof(sql), "%s WHERE r.name = ?1", run_columns);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, sql, &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			read_run(st, out);
		else if (r == SQLITE_DONE)
			rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
		else
			rc = db_fail(s, 0, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_run_keys(store *s, const char *run, void (*fn)(void *ctx, int kind, const char *key), void *ctx,
			  seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int r;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT DISTINCT s.kind, s.key FROM scores s JOIN items i ON i.id = s.item_id "
		     "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 ORDER BY s.kind, s.key",
		     &st, err);
	if (rc == SEG_OK)
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1));
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/*
 * The q-quantile (0 <= q <= 1) of n >= 1 values sorted ascending: NumPy's
 * default ("linear") method, at position q(n - 1) between the closest
 * ranks, interpolated as numpy's _lerp does it (from the upper value when
 * the fraction is 0.5 or more), so the result is NumPy's to the bit.
 */
static double quantile(const double *v, size_t n, double q)
{
	double pos = (double)(n - 1) * q;
	double lo = floor(pos);
	size_t i = (size_t)lo;

	if (i + 1 >= n)
		return v[n - 1];
	double t = pos - lo, a = v[i], b = v[i + 1], d = b - a;
	return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Ends one key's aggregates: std from Welford's sum, percentiles from its values, sorted here. */
static void finish_agg(store_agg *a, double m2, double *values)
{
	a->std = a->count > 0 ? sqrt(m2 / (double)a->count) : NAN;
	a->median = a->p05 = a->p95 = NAN;
	if (a->count > 0 && values) {
		qsort(values, (size_t)a->count, sizeof(*values), cmp_double);
		a->median = quantile(values, (size_t)a->count, 0.5);
		a->p05 = quantile(values, (size_t)a->count, 5.0 / 100.0);
		a->p95 = quantile(values, (size_t)a->count, 95.0 / 100.0);
	}
}

/* One key's running aggregates while a run's scores are read (store_aggregates). */
typedef struct agg_slot {
	int kind;
	char key[256];
	store_agg a;
	double m2;
	double *values; /* for the percentiles */
	size_t cap;
} agg_slot;

static uint64_t agg_hash(int kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static int cmp_slot(const void *x, const void *y)
{
	const agg_slot *a = *(agg_slot *const *)x, *b = *(agg_slot *const *)y;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->key, b->key);
}

/*
 * A run's scores are read in the order the items' index gives them, each
 * item's in key order, and gathered per key in a hash table: SQLite then
 * sorts nothing (sorting every score of a run by key was most of the
 * work), each key still sees its values in the same order as before
 * (the sort was stable on that scan), and the keys come out sorted here.
 */
seg_status store_aggregates(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
			    seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int r;
	agg_slot *slots = NULL, **order = NULL;
	size_t nslots = 0, slots_cap = 0;
	uint32_t *table = NULL; /* slot index + 1, 0 empty */
	size_t mask = 0;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT s.kind, s.key, s.value FROM scores s JOIN items i ON i.id = s.item_id "
		     "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1",
		     &st, err);
	if (rc == SEG_OK)
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
	/* Welford's running mean and variance per key; nulls are skipped. */
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 0);
		const char *k = (const char *)sqlite3_column_text(st, 1);
		if ((nslots + 1) * 2 > mask + 1) {
			size_t size = mask ? (mask + 1) * 2 : 256;
			uint32_t *t = calloc(size, sizeof(*t));
			if (t == NULL) {
				rc = seg_fail(err, SEG_ENOMEM, "out of memory for a run's aggregates");
				break;
			}
			for (size_t i = 0; i < nslots; i++) {
				size_t h = (size_t)agg_hash(slots[i].kind, slots[i].key) & (size - 1);
				while (t[h])
					h = (h + 1) & (size - 1);
				t[h] = (uint32_t)i + 1;
			}
			free(table);
			table = t;
			mask = size - 1;
		}
		size_t h = (size_t)agg_hash(kind, k) & mask;
		while (table[h] && (slots[table[h] - 1].kind != kind || strcmp(slots[table[h] - 1].key, k) != 0))
			h = (h + 1) & mask;
		if (table[h] == 0) {
			if (nslots == slots_cap) {
				size_t nc = slots_cap ? slots_cap * 2 : 64;
				agg_slot *t = realloc(slots, nc * sizeof(*t));
				if (t == NULL) {
					rc = seg_fail(err, SEG_ENOMEM, "out of memory for a run's aggregates");
					break;
				}
				slots = t;
				slots_cap = nc;
			}
			agg_slot *n = &slots[nslots];
			memset(n, 0, sizeof(*n));
			n->kind = kind;
			snprintf(n->key, sizeof(n->key), "%s", k);
			n->a = (store_agg){kind, NULL, 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0.0};
			table[h] = (uint32_t)++nslots;
		}
		agg_slot *g = &slots[table[h] - 1];
		store_agg *a = &g->a;
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			continue;
		double v = sqlite3_column_double(st, 2);
		if ((size_t)a->count == g->cap) {
			size_t nc = g->cap ? g->cap * 2 : 256;
			double *t = realloc(g->values, nc * sizeof(*t));
			if (t == NULL) {
				rc = seg_fail(err, SEG_ENOMEM, "out of memory for the percentiles of '%s'", g->key);
				break;
			}
			g->values = t;
			g->cap = nc;
		}
		g->values[a->count] = v;
		a->count++;
		a->sum += v;
		if (a->count == 1) {
			a->mean = a->min = a->max = v;
			continue;
		}
		double d = v - a->mean;
		a->mean += d / (double)a->count;
		g->m2 += d * (v - a->mean);
		a->min = v < a->min ? v : a->min;
		a->max = v > a->max ? v : a->max;
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (rc == SEG_OK && nslots > 0) {
		order = malloc(nslots * sizeof(*order));
		if (order == NULL)
			rc = seg_fail(err, SEG_ENOMEM, "out of memory for a run's aggregates");
	}
	if (rc == SEG_OK && nslots > 0) {
		for (size_t i = 0; i < nslots; i++)
			order[i] = &slots[i];
		qsort(order, nslots, sizeof(*order), cmp_slot);
		for (size_t i = 0; i < nslots; i++) {
			agg_slot *g = order[i];
			g->a.key = g->key;
			finish_agg(&g->a, g->m2, g->values);
			fn(ctx, &g->a);
		}
	}
	for (size_t i = 0; i < nslots; i++)
		free(slots[i].values);
	free(order);
	free(slots);
	free(table);
	return rc;
}

/* Scores of one item, in kind, key order, into a growable array. */
static seg_status item_scores(store *s, int64_t item_id, store_score **scores, size_t *n, size_t *cap,
			      char **keys, size_t *keys_cap, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc = prepare(s, "SELECT kind, key, value FROM scores WHERE item_id = ?1 ORDER BY kind, key", &st, err);
	size_t used = 0;
	int r;

	*n = 0;
	if (rc != SEG_OK)
		return rc;
	sqlite3_bind_int64(st, 1, item_id);
	/* Keys are packed into one buffer; pointers are fixed up after it stops growing. */
	size_t offsets[4096];
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
		rc = db_fail(s, 0, err);
	for (size_t i = 0; rc == SEG_OK && i < *n; i++)
		(*scores)[i].key = *keys + offsets[i];
	sqlite3_finalize(st);
	return rc;
}

seg_status store_items(store *s, const char *run, const store_items_query *q,
		       void (*fn)(void *ctx, const store_item *it), void *ctx, int64_t *next, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	store_score *scores = NULL;
	char *keys = NULL;
	size_t cap = 0, keys_cap = 0;
	seg_status rc;
	int r;

	*next = q->after;
	pthread_mutex_lock(&s->lock);
	if (q->order_key)
		rc = prepare(s,
			     q->desc ? "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				       "JOIN runs r ON r.id = i.run_id "
				       "LEFT JOIN scores s ON s.item_id = i.id AND s.kind = ?2 AND s.key = ?3 "
				       "WHERE r.name = ?1 ORDER BY s.value IS NULL, s.value DESC, i.seq LIMIT ?4"
				     : "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
				       "JOIN runs r ON r.id = i.run_id "
				       "LEFT JOIN scores s ON s.item_id = i.id AND s.kind = ?2 AND s.key = ?3 "
				       "WHERE r.name = ?1 ORDER BY s.value IS NULL, s.value ASC, i.seq LIMIT ?4",
			     &st, err);
	else
		rc = prepare(s,
			     "SELECT i.id, i.seq, i.item, i.time, i.width, i.height FROM items i "
			     "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 AND i.seq > ?2 ORDER BY i.seq LIMIT ?3",
			     &st, err);
	if (rc == SEG_OK) {
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
		rc = item_scores(s, sqlite3_column_int64(st, 0), &scores, &n, &cap, &keys, &keys_cap, err);
		if (rc != SEG_OK)
			break;
		it.scores = scores;
		it.nscores = n;
		if (it.seq > *next)
			*next = it.seq;
		fn(ctx, &it);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	free(scores);
	free(keys);
	return rc;
}

seg_status store_compare(store *s, const char *a, const char *b, void (*fn)(void *ctx, const store_pair *p),
			 void *ctx, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int r;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT sa.kind, sa.key, ia.item, sa.value, sb.value FROM runs ra "
		     "JOIN items ia ON ia.run_id = ra.id "
		     "JOIN runs rb ON rb.name = ?2 "
		     "JOIN items ib ON ib.run_id = rb.id AND ib.item = ia.item "
		     "JOIN scores sa ON sa.item_id = ia.id "
		     "JOIN scores sb ON sb.item_id = ib.id AND sb.kind = sa.kind AND sb.key = sa.key "
		     "WHERE ra.name = ?1 ORDER BY sa.kind, sa.key, ia.item",
		     &st, err);
	if (rc == SEG_OK) {
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
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			  seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	*mean = NAN;
	*count = 0;
	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT AVG(s.value), COUNT(s.value) FROM scores s JOIN items i ON i.id = s.item_id "
		     "JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 AND s.kind = ?2 AND s.key = ?3",
		     &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, kind);
		sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*count = sqlite3_column_int64(st, 1);
			if (*count > 0)
				*mean = sqlite3_column_double(st, 0);
		} else {
			rc = db_fail(s, 0, err);
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_delete_run(store *s, const char *run, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t version;
	seg_status rc;

	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK)
		rc = prepare(s, "DELETE FROM runs WHERE name = ?1", &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(s, 1, err);
		else if (sqlite3_changes(s->db) == 0)
			rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
	}
	sqlite3_finalize(st);
	if (rc == SEG_OK)
		rc = bump_version(s, &version, err);
	if (rc == SEG_OK)
		rc = exec(s, "COMMIT", 1, err);
	if (rc != SEG_OK)
		rollback(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- jobs ------------------------------------------------------------------------- */

seg_status store_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			    char existing[40], int *same_body, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	existing[0] = '\0';
	*same_body = 0;
	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK && idem_key) {
		rc = prepare(s, "SELECT id, body_hash FROM jobs WHERE idem_key = ?1", &st, err);
		if (rc == SEG_OK) {
			sqlite3_bind_text(st, 1, idem_key, -1, SQLITE_STATIC);
			int r = sqlite3_step(st);
			if (r == SQLITE_ROW) {
				const char *h = (const char *)sqlite3_column_text(st, 1);
				snprintf(existing, 40, "%s", (const char *)sqlite3_column_text(st, 0));
				*same_body = h && body_hash && strcmp(h, body_hash) == 0;
			} else if (r != SQLITE_DONE) {
				rc = db_fail(s, 0, err);
			}
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	int64_t seq = 0;
	if (rc == SEG_OK && existing[0] == '\0') {
		rc = prepare(s, "UPDATE meta SET value = value + 1 WHERE key = 'job_seq' RETURNING value", &st, err);
		if (rc == SEG_OK && sqlite3_step(st) == SQLITE_ROW)
			seq = sqlite3_column_int64(st, 0);
		else if (rc == SEG_OK)
			rc = db_fail(s, 1, err);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == SEG_OK && existing[0] == '\0') {
		rc = prepare(s,
			     "INSERT INTO jobs(id, idem_key, body_hash, status, created, total, content_type, body, seq) "
			     "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     &st, err);
		if (rc == SEG_OK) {
			sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
			if (idem_key)
				sqlite3_bind_text(st, 2, idem_key, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 2);
			if (body_hash)
				sqlite3_bind_text(st, 3, body_hash, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 3);
			sqlite3_bind_int(st, 4, JOB_QUEUED);
			sqlite3_bind_int64(st, 5, j->created);
			sqlite3_bind_int(st, 6, j->total);
			sqlite3_bind_text(st, 7, j->content_type, -1, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 8, j->body, j->body_len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 9, seq);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_fail(s, 1, err);
		}
		sqlite3_finalize(st);
	}
	if (rc == SEG_OK)
		rc = exec(s, "COMMIT", 1, err);
	if (rc != SEG_OK)
		rollback(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const char job_columns[] = "SELECT id, status, created, started, finished, total, done, cancel, content_type, "
				  "result, error, error_status, %s FROM jobs";

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

seg_status store_job_get(store *s, const char *id, int with_body, void (*fn)(void *ctx, const store_job *j),
			 void *ctx, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	seg_status rc;

	snprintf(sql, sizeof(sql), job_columns, with_body ? "body" : "NULL");
	strcat(sql, " WHERE id = ?1");
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, sql, &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			store_job j;
			read_job(st, &j, with_body);
			fn(ctx, &j);
		} else if (r == SQLITE_DONE) {
			rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
		} else {
			rc = db_fail(s, 0, err);
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_jobs_list(store *s, const store_jobs_query *q, void (*fn)(void *ctx, const store_job *j),
			   void *ctx, int64_t *next, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int64_t last = 0;
	int r, n = 0;

	*next = 0;
	pthread_mutex_lock(&s->lock);
	/* One row past the page tells whether an older job is left, and so whether there is a next page. */
	rc = prepare(s,
		     "SELECT id, status, created, started, finished, total, done, cancel, content_type, NULL, error, "
		     "error_status, NULL, seq FROM jobs WHERE (?1 = 0 OR seq < ?1) AND ((1 << status) & ?2) != 0 "
		     "ORDER BY seq DESC LIMIT ?3",
		     &st, err);
	if (rc == SEG_OK) {
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
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_job_claim(store *s, void (*fn)(void *ctx, const store_job *j), void *ctx, int *found,
			   seg_error *err)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	seg_status rc;

	*found = 0;
	snprintf(sql, sizeof(sql), job_columns, "body");
	strcat(sql, " WHERE status = 0 ORDER BY created, rowid LIMIT 1");
	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK)
		rc = prepare(s, sql, &st, err);
	if (rc == SEG_OK) {
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			store_job j;
			sqlite3_stmt *up = NULL;
			read_job(st, &j, 1);
			j.status = JOB_RUNNING;
			j.started = now_ms();
			rc = prepare(s, "UPDATE jobs SET status = 1, started = ?2, done = 0 WHERE id = ?1", &up, err);
			if (rc == SEG_OK) {
				sqlite3_bind_text(up, 1, j.id, -1, SQLITE_STATIC);
				sqlite3_bind_int64(up, 2, j.started);
				if (sqlite3_step(up) != SQLITE_DONE)
					rc = db_fail(s, 1, err);
			}
			sqlite3_finalize(up);
			if (rc == SEG_OK)
				rc = exec(s, "COMMIT", 1, err);
			if (rc == SEG_OK) {
				*found = 1;
				fn(ctx, &j);
			}
		} else if (r != SQLITE_DONE) {
			rc = db_fail(s, 0, err);
		}
	}
	sqlite3_finalize(st);
	if (rc != SEG_OK || !*found)
		rollback(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_job_progress(store *s, const char *id, int done, int *cancel, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	*cancel = 0;
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, "UPDATE jobs SET done = ?2 WHERE id = ?1 RETURNING cancel", &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, done);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*cancel = sqlite3_column_int(st, 0);
		else if (r != SQLITE_DONE)
			rc = db_fail(s, 1, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_job_finish(store *s, const char *id, store_job_status status, const char *result,
			    const char *error, int error_status, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "UPDATE jobs SET status = ?2, finished = ?3, result = ?4, error = ?5, error_status = ?6, "
		     "body = CASE WHEN ?2 = 2 THEN x'' ELSE body END, "
		     "done = CASE WHEN ?2 = 2 THEN total ELSE done END WHERE id = ?1",
		     &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, status);
		sqlite3_bind_int64(st, 3, now_ms());
		if (result)
			sqlite3_bind_text(st, 4, result, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		if (error)
			sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int(st, 6, error_status);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(s, 1, err);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	if (rc == SEG_OK)
		rc = prepare(s, "SELECT status FROM jobs WHERE id = ?1", &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*was = (store_job_status)sqlite3_column_int(st, 0);
		else if (r == SQLITE_DONE)
			rc = seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
		else
			rc = db_fail(s, 0, err);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SEG_OK && (*was == JOB_QUEUED || *was == JOB_RUNNING)) {
		rc = prepare(s,
			     *was == JOB_QUEUED
				     ? "UPDATE jobs SET status = 4, finished = ?2, body = x'' WHERE id = ?1"
				     : "UPDATE jobs SET cancel = 1 WHERE id = ?1 AND ?2 = ?2",
			     &st, err);
		if (rc == SEG_OK) {
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now_ms());
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_fail(s, 1, err);
		}
		sqlite3_finalize(st);
	}
	if (rc == SEG_OK)
		rc = exec(s, "COMMIT", 1, err);
	if (rc != SEG_OK)
		rollback(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static seg_status count_changes(store *s, const char *sql, int64_t arg, int *count, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;

	*count = 0;
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, sql, &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_int64(st, 1, arg);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(s, 1, err);
		else
			*count = sqlite3_changes(s->db);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_job_requeue(store *s, int *count, seg_error *err)
{
	return count_changes(s, "UPDATE jobs SET status = 0, started = 0, done = 0 WHERE status = 1 AND ?1 = ?1", 0,
			     count, err);
}

seg_status store_job_purge(store *s, int64_t before_ms, int *count, seg_error *err)
{
	return count_changes(s, "DELETE FROM jobs WHERE status >= 2 AND finished < ?1", before_ms, count, err);
}

seg_status store_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int r;

	memset(counts, 0, sizeof(int64_t) * JOB_STATUS_COUNT);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s, "SELECT status, COUNT(*) FROM jobs GROUP BY status", &st, err);
	while (rc == SEG_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int k = sqlite3_column_int(st, 0);
		if (k >= 0 && k < JOB_STATUS_COUNT)
			counts[k] = sqlite3_column_int64(st, 1);
	}
	if (rc == SEG_OK && r != SQLITE_DONE)
		rc = db_fail(s, 0, err);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- kept masks (keep_masks) ------------------------------------------------------- */

/* The bytes the masks of run_id's items hold (the caller holds the lock, inside a transaction). */
static seg_status run_mask_bytes(store *s, int64_t run_id, uint64_t *bytes, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc = prepare(s,
				"SELECT COALESCE(SUM(length(m.target) + length(m.prediction)), 0) FROM item_masks m "
				"JOIN items i ON i.id = m.item_id WHERE i.run_id = ?1",
				&st, err);

	if (rc != SEG_OK)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = db_fail(s, 1, err);
	sqlite3_finalize(st);
	return rc;
}

seg_status store_record_masks(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			      const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap,
			      int *kept, uint64_t *run_bytes, seg_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t item_id = 0, run_id = 0;
	uint64_t held = 0, size = (uint64_t)m->target_len + m->prediction_len;
	seg_status rc;

	*kept = 0;
	*run_bytes = 0;
	pthread_mutex_lock(&s->lock);
	rc = exec(s, "BEGIN IMMEDIATE", 1, err);
	/* The item first: replacing it drops its old masks (ON DELETE CASCADE) before the run is summed. */
	if (rc == SEG_OK)
		rc = record_locked(s, run, item, time_ms, width, height, scores, nscores, err);
	if (rc == SEG_OK)
		rc = prepare(s, "SELECT i.id, i.run_id FROM items i JOIN runs r ON r.id = i.run_id WHERE r.name = ?1 AND i.item = ?2",
			     &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			item_id = sqlite3_column_int64(st, 0);
			run_id = sqlite3_column_int64(st, 1);
		} else {
			rc = db_fail(s, 1, err);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == SEG_OK)
		rc = run_mask_bytes(s, run_id, &held, err);
	if (rc == SEG_OK && held + size <= run_cap) {
		rc = prepare(s, "INSERT INTO item_masks(item_id, target, prediction) VALUES(?1, ?2, ?3)", &st, err);
		if (rc == SEG_OK) {
			sqlite3_bind_int64(st, 1, item_id);
			sqlite3_bind_blob64(st, 2, m->target_len ? (const void *)m->target : "", m->target_len, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 3, m->prediction_len ? (const void *)m->prediction : "", m->prediction_len,
					    SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_fail(s, 1, err);
			sqlite3_finalize(st);
		}
		if (rc == SEG_OK)
			*kept = 1;
	}
	if (rc == SEG_OK)
		rc = exec(s, "COMMIT", 1, err);
	if (rc != SEG_OK) {
		rollback(s);
		*kept = 0;
	} else {
		*run_bytes = held;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

seg_status store_item_mask(store *s, const char *run, int64_t seq, int which,
			   void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			   seg_error *err)
{
	sqlite3_stmt *st = NULL;
	seg_status rc;
	int r = SQLITE_ERROR;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     which ? "SELECT i.item, m.item_id IS NOT NULL, m.prediction FROM runs r JOIN items i ON i.run_id = r.id "
			     "LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = ?1 AND i.seq = ?2"
			   : "SELECT i.item, m.item_id IS NOT NULL, m.target FROM runs r JOIN items i ON i.run_id = r.id "
			     "LEFT JOIN item_masks m ON m.item_id = i.id WHERE r.name = ?1 AND i.seq = ?2",
		     &st, err);
	if (rc == SEG_OK) {
		sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW && sqlite3_column_int(st, 1))
			fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 2),
			   (size_t)sqlite3_column_bytes(st, 2));
		else if (r == SQLITE_ROW)
			rc = seg_fail(err, SEG_ENOTFOUND,
				      "item '%.200s' (seq %lld) of run '%s' was recorded without its masks (send \"keep_masks\": true)",
				      (const char *)sqlite3_column_text(st, 0), (long long)seq, run);
		else if (r != SQLITE_DONE)
			rc = db_fail(s, 0, err);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SEG_OK && r == SQLITE_DONE) {
		/* No such item: say whether the run exists. */
		rc = prepare(s, "SELECT 1 FROM runs WHERE name = ?1", &st, err);
		if (rc == SEG_OK) {
			sqlite3_bind_text(st, 1, run, -1, SQLITE_STATIC);
			r = sqlite3_step(st);
			if (r == SQLITE_ROW)
				rc = seg_fail(err, SEG_ENOTFOUND,
					      "run '%s' has no item with seq %lld (an item posted again takes a new seq)", run,
					      (long long)seq);
			else if (r == SQLITE_DONE)
				rc = seg_fail(err, SEG_ENOTFOUND, "no run '%s'", run);
			else
				rc = db_fail(s, 0, err);
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
