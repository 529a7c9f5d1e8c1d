/*
 * pg_schema.c — the PostgreSQL schema, version by version, and applying
 * the versions a database lacks.
 *
 * Everything lives in the schema `segloss` (every connection sets its
 * search_path to it). A daemon applies the migrations it finds missing
 * while holding an advisory lock, each in its own transaction, so
 * replicas that start together apply each once, in order, and a
 * database newer than the daemon is refused rather than damaged. The
 * writes that take more than one statement are functions in the
 * database (segloss_record, segloss_delete_run, segloss_job_insert,
 * segloss_job_cancel, segloss_job_purge), so each is one round trip.
 */
#include "store/pg_int.h"

#include <stdio.h>
#include <string.h>

/* Advisory lock keys: "seglos" and a number. */
#define LOCK_MIGRATE 0x7365676c6f7301LL

/*
 * The schema, version by version. Names, items and keys compare byte by
 * byte (COLLATE "C"), as in SQLite, whatever the database's locale.
 */
static const char *const migrations[] = {
	/*
	 * 1: runs, items, scores, their aggregates, jobs.
	 *
	 * runs.version comes from one sequence, taken while the run's row is
	 * locked, so a run's versions grow in commit order and a run created
	 * again never reuses one; runs.changes counts its writes, and
	 * meta.deleted keeps the changes of deleted runs, so their sum (the
	 * version of the list) grows by one with every committed change.
	 * last_seq numbers a run's items under the same lock: an item is
	 * visible only after every item with a smaller number, so an after=
	 * cursor never skips one.
	 *
	 * aggs holds per run and key the counts, the extremes, and s1 and s2,
	 * the sums of the values and of their squares as numeric: a value
	 * arrives as its exact decimal expansion, so the sums are exact, and
	 * an item replaced subtracts exactly what it added (segloss_exact
	 * gives the same expansion from the stored double). scores refers to
	 * its aggs row, and is indexed by (agg_id, value): min and max after a
	 * replacement, and the percentiles by rank, read a narrow index of
	 * doubles. The functions below delete children explicitly, so scores
	 * carries no foreign keys to check on every insert.
	 */
	"CREATE TABLE meta(key text PRIMARY KEY, value bigint NOT NULL);"
	"INSERT INTO meta VALUES ('deleted', 0);"
	"CREATE SEQUENCE run_version;"
	"CREATE SEQUENCE job_seq;"
	"CREATE TABLE runs("
	"  id bigserial PRIMARY KEY,"
	"  name text COLLATE \"C\" NOT NULL UNIQUE,"
	"  created bigint NOT NULL,"
	"  updated bigint NOT NULL,"
	"  version bigint NOT NULL,"
	"  changes bigint NOT NULL DEFAULT 1,"
	"  last_seq bigint NOT NULL DEFAULT 0,"
	"  items bigint NOT NULL DEFAULT 0,"
	"  mask_bytes bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE items("
	"  id bigserial PRIMARY KEY,"
	"  run_id bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  item text COLLATE \"C\" NOT NULL,"
	"  seq bigint NOT NULL,"
	"  time bigint NOT NULL,"
	"  width int NOT NULL,"
	"  height int NOT NULL,"
	"  UNIQUE(run_id, item));"
	"CREATE INDEX items_seq ON items(run_id, seq);"
	"CREATE TABLE aggs("
	"  id bigserial PRIMARY KEY,"
	"  run_id bigint NOT NULL,"
	"  kind int NOT NULL,"
	"  key text COLLATE \"C\" NOT NULL,"
	"  rows bigint NOT NULL,"
	"  count bigint NOT NULL,"
	"  s1 numeric NOT NULL,"
	"  s2 numeric NOT NULL,"
	"  vmin float8,"
	"  vmax float8,"
	"  stale boolean NOT NULL DEFAULT false,"
	"  UNIQUE(run_id, kind, key));"
	"CREATE TABLE scores("
	"  item_id bigint NOT NULL,"
	"  agg_id bigint NOT NULL,"
	"  value float8,"
	"  PRIMARY KEY(item_id, agg_id));"
	"CREATE INDEX scores_value ON scores(agg_id, value);"
	/* keep_masks: an item's uploads, gone with the item's next version or its run; runs.mask_bytes sums them. */
	"CREATE TABLE item_masks("
	"  item_id bigint PRIMARY KEY,"
	"  run_id bigint NOT NULL,"
	"  target bytea NOT NULL,"
	"  prediction bytea NOT NULL);"
	"CREATE INDEX item_masks_run ON item_masks(run_id);"
	/* Inserts alone never wake the vacuum that keeps index-only scans (the percentiles) cheap: make them. */
	"ALTER TABLE scores SET (autovacuum_vacuum_insert_scale_factor = 0.02);"
	/*
	 * A double's exact decimal value: m 2^e is m 5^-e 10^e. Used for the
	 * old values of a replaced item; new ones arrive already expanded.
	 */
	"CREATE FUNCTION segloss_exact(x float8) RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$\n"
	"  SELECT CASE WHEN e >= 0 THEN s * m * 2::numeric ^ e ELSE s * m * 5::numeric ^ (-e) * ('1e' || e)::numeric END\n"
	"  FROM (SELECT CASE WHEN b < 0 THEN -1 ELSE 1 END AS s,\n"
	"               CASE WHEN (b >> 52) & 2047 = 0 THEN b & 4503599627370495\n"
	"                    ELSE (b & 4503599627370495) | 4503599627370496 END AS m,\n"
	"               CASE WHEN (b >> 52) & 2047 = 0 THEN -1074 ELSE ((b >> 52) & 2047)::int - 1075 END AS e\n"
	"        FROM (SELECT ('x' || encode(float8send(x), 'hex'))::bit(64)::bigint AS b) q) r\n"
	"$$;"
	"CREATE TABLE jobs("
	"  id text PRIMARY KEY,"
	"  seq bigint NOT NULL UNIQUE,"
	"  idem_key text UNIQUE,"
	"  body_hash text,"
	"  status int NOT NULL,"
	"  created bigint NOT NULL,"
	"  started bigint NOT NULL DEFAULT 0,"
	"  finished bigint NOT NULL DEFAULT 0,"
	"  total int NOT NULL,"
	"  done int NOT NULL DEFAULT 0,"
	"  cancel boolean NOT NULL DEFAULT false,"
	"  content_type text NOT NULL,"
	"  body bytea NOT NULL,"
	"  result text,"
	"  error text,"
	"  error_status int NOT NULL DEFAULT 0,"
	"  owner text,"
	"  lease_until timestamptz,"
	"  attempts int NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_active ON jobs(created, seq) WHERE status <= 1;"
	"CREATE INDEX jobs_finished ON jobs(finished) WHERE status >= 2;"
	/*
	 * Recording one item: the run's row lock first (it orders the run's
	 * writers until they commit), the item updated in place or inserted
	 * (a new statement, so it sees what the writer before committed; the
	 * item count follows from it), its old scores subtracted from
	 * the sums, the new ones added (their aggs rows created as needed) and
	 * stored; a removed extreme marks its key stale, and min and max are
	 * read again from the index of values. p_values are exact decimal
	 * expansions (pg_runs.c). A new version drops the masks the item kept;
	 * with p_target, the masks are kept unless the run's would pass p_cap
	 * bytes (o_held: what they held before).
	 */
	"CREATE FUNCTION segloss_record(p_run text, p_item text, p_time bigint, p_width int, p_height int,"
	"    p_kinds int[], p_keys text[], p_values numeric[], p_target bytea, p_prediction bytea, p_cap bigint,"
	"    OUT o_kept boolean, OUT o_held bigint) LANGUAGE plpgsql AS $$\n"
	"DECLARE v_run bigint; v_seq bigint; v_item bigint; v_replaced boolean; v_new_run boolean; v_freed bigint;\n"
	"BEGIN\n"
	"  o_kept := false;\n"
	"  o_held := 0;\n"
	"  INSERT INTO runs AS r (name, created, updated, version, last_seq, items)\n"
	"    VALUES (p_run, p_time, p_time, nextval('run_version'), 1, 1)\n"
	"    ON CONFLICT (name) DO UPDATE SET updated = p_time, version = nextval('run_version'),\n"
	"      changes = r.changes + 1, last_seq = r.last_seq + 1\n"
	"    RETURNING id, last_seq, xmax = 0 INTO v_run, v_seq, v_new_run;\n"
	/* xmax is set on a row the upsert updated, 0 on one it inserted. */
	"  INSERT INTO items AS i (run_id, item, seq, time, width, height)\n"
	"    VALUES (v_run, p_item, v_seq, p_time, p_width, p_height)\n"
	"    ON CONFLICT (run_id, item) DO UPDATE SET seq = EXCLUDED.seq, time = EXCLUDED.time,\n"
	"      width = EXCLUDED.width, height = EXCLUDED.height\n"
	"    RETURNING id, xmax <> 0 INTO v_item, v_replaced;\n"
	"  IF v_replaced THEN\n"
	"    UPDATE aggs a SET rows = a.rows - 1, count = a.count - (o.value IS NOT NULL)::int,\n"
	"        s1 = a.s1 - COALESCE(o.x, 0), s2 = a.s2 - COALESCE(o.x * o.x, 0),\n"
	"        stale = a.stale OR COALESCE(o.value <= a.vmin OR o.value >= a.vmax, false)\n"
	"      FROM (SELECT agg_id, value, segloss_exact(value) AS x FROM scores WHERE item_id = v_item) o\n"
	"      WHERE a.id = o.agg_id;\n"
	"    DELETE FROM scores WHERE item_id = v_item;\n"
	"    DELETE FROM item_masks WHERE item_id = v_item RETURNING length(target) + length(prediction) INTO v_freed;\n"
	"    IF v_freed IS NOT NULL THEN\n"
	"      UPDATE runs SET mask_bytes = mask_bytes - v_freed WHERE id = v_run;\n"
	"    END IF;\n"
	"  ELSIF NOT v_new_run THEN\n"
	"    UPDATE runs SET items = items + 1 WHERE id = v_run;\n"
	"  END IF;\n"
	"  WITH u AS (SELECT * FROM unnest(p_kinds, p_keys, p_values) AS u(k, key, v)),\n"
	"  a AS (INSERT INTO aggs AS a (run_id, kind, key, rows, count, s1, s2, vmin, vmax)\n"
	"      SELECT v_run, u.k, u.key, 1, (u.v IS NOT NULL)::int, COALESCE(u.v, 0), COALESCE(u.v * u.v, 0), u.v, u.v FROM u\n"
	"    ON CONFLICT (run_id, kind, key) DO UPDATE SET rows = a.rows + 1, count = a.count + EXCLUDED.count,\n"
	"      s1 = a.s1 + EXCLUDED.s1, s2 = a.s2 + EXCLUDED.s2,\n"
	"      vmin = LEAST(a.vmin, EXCLUDED.vmin), vmax = GREATEST(a.vmax, EXCLUDED.vmax)\n"
	"    RETURNING a.id, a.kind, a.key)\n"
	"  INSERT INTO scores(item_id, agg_id, value)\n"
	"    SELECT v_item, a.id, u.v::float8 FROM a JOIN u ON u.k = a.kind AND u.key = a.key;\n"
	"  IF v_replaced THEN\n"
	"    UPDATE aggs a SET stale = false,\n"
	"        vmin = (SELECT min(s.value) FROM scores s WHERE s.agg_id = a.id),\n"
	"        vmax = (SELECT max(s.value) FROM scores s WHERE s.agg_id = a.id)\n"
	"      WHERE a.run_id = v_run AND a.stale;\n"
	"    DELETE FROM aggs WHERE run_id = v_run AND rows = 0;\n"
	"  END IF;\n"
	"  IF p_target IS NOT NULL THEN\n"
	"    SELECT mask_bytes INTO o_held FROM runs WHERE id = v_run;\n"
	"    IF o_held + length(p_target) + length(p_prediction) <= p_cap THEN\n"
	"      INSERT INTO item_masks(item_id, run_id, target, prediction) VALUES (v_item, v_run, p_target, p_prediction);\n"
	"      UPDATE runs SET mask_bytes = mask_bytes + length(p_target) + length(p_prediction) WHERE id = v_run;\n"
	"      o_kept := true;\n"
	"    END IF;\n"
	"  END IF;\n"
	"END $$;"
	/* Deleting a run: its row lock waits for its writers; the list's version still grows by one. */
	"CREATE FUNCTION segloss_delete_run(p_run text) RETURNS boolean LANGUAGE plpgsql AS $$\n"
	"DECLARE v_id bigint; v_changes bigint;\n"
	"BEGIN\n"
	"  SELECT id, changes INTO v_id, v_changes FROM runs WHERE name = p_run FOR UPDATE;\n"
	"  IF NOT FOUND THEN RETURN false; END IF;\n"
	"  PERFORM set_config('synchronous_commit', 'on', true);\n"
	"  DELETE FROM scores WHERE agg_id IN (SELECT id FROM aggs WHERE run_id = v_id);\n"
	"  DELETE FROM item_masks WHERE run_id = v_id;\n"
	"  DELETE FROM aggs WHERE run_id = v_id;\n"
	"  DELETE FROM items WHERE run_id = v_id;\n"
	"  DELETE FROM runs WHERE id = v_id;\n"
	"  UPDATE meta SET value = value + v_changes + 1 WHERE key = 'deleted';\n"
	"  RETURN true;\n"
	"END $$;"
	/*
	 * Queuing a job: one inserter at a time (a transaction-level advisory
	 * lock), so job numbers are handed out in commit order and the
	 * listing cursor never skips a job that commits late; the
	 * Idempotency-Key is looked up under the same lock. NOTIFY wakes the
	 * runners of every daemon at commit.
	 */
	"CREATE FUNCTION segloss_job_insert(p_id text, p_idem text, p_hash text, p_created bigint, p_total int,"
	"    p_type text, p_body bytea) RETURNS TABLE(o_id text, o_hash text, o_new boolean)"
	"    LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	"  PERFORM set_config('synchronous_commit', 'on', true);\n"
	"  PERFORM pg_advisory_xact_lock(32482707216319234);\n"
	"  IF p_idem IS NOT NULL THEN\n"
	"    RETURN QUERY SELECT j.id, j.body_hash, false FROM jobs j WHERE j.idem_key = p_idem;\n"
	"    IF FOUND THEN RETURN; END IF;\n"
	"  END IF;\n"
	"  INSERT INTO jobs(id, seq, idem_key, body_hash, status, created, total, content_type, body)\n"
	"    VALUES (p_id, nextval('job_seq'), p_idem, p_hash, 0, p_created, p_total, p_type, p_body);\n"
	"  PERFORM pg_notify('segloss_jobs', p_id);\n"
	"  RETURN QUERY SELECT p_id, p_hash, true;\n"
	"END $$;"
	"CREATE FUNCTION segloss_job_cancel(p_id text, p_now bigint) RETURNS int LANGUAGE plpgsql AS $$\n"
	"DECLARE v_status int;\n"
	"BEGIN\n"
	"  PERFORM set_config('synchronous_commit', 'on', true);\n"
	"  SELECT status INTO v_status FROM jobs WHERE id = p_id FOR UPDATE;\n"
	"  IF NOT FOUND THEN RETURN -1; END IF;\n"
	"  IF v_status = 0 THEN\n"
	"    UPDATE jobs SET status = 4, finished = p_now, body = ''::bytea WHERE id = p_id;\n"
	"  ELSIF v_status = 1 THEN\n"
	"    UPDATE jobs SET cancel = true WHERE id = p_id;\n"
	"  END IF;\n"
	"  RETURN v_status;\n"
	"END $$;"
	/* The TTL purge: one daemon at a time; the others skip (-1). */
	"CREATE FUNCTION segloss_job_purge(p_before bigint) RETURNS int LANGUAGE plpgsql AS $$\n"
	"DECLARE n int;\n"
	"BEGIN\n"
	"  IF NOT pg_try_advisory_xact_lock(32482707216319235) THEN RETURN -1; END IF;\n"
	"  DELETE FROM jobs WHERE status >= 2 AND finished < p_before;\n"
	"  GET DIAGNOSTICS n = ROW_COUNT;\n"
	"  RETURN n;\n"
	"END $$;",
	/*
	 * 2: the options an item's masks are read with (logits, threshold,
	 * kinds, classes: JSON text), kept beside them; NULL for masks kept
	 * before. segloss_record_options records as segloss_record does and
	 * stores them in the same transaction, still one round trip.
	 */
	"ALTER TABLE item_masks ADD COLUMN options text;"
	"CREATE FUNCTION segloss_record_options(p_run text, p_item text, p_time bigint, p_width int, p_height int,"
	"    p_kinds int[], p_keys text[], p_values numeric[], p_target bytea, p_prediction bytea, p_cap bigint,"
	"    p_options text, OUT o_kept boolean, OUT o_held bigint) LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	"  SELECT r.o_kept, r.o_held INTO o_kept, o_held FROM segloss_record(p_run, p_item, p_time, p_width, p_height,\n"
	"    p_kinds, p_keys, p_values, p_target, p_prediction, p_cap) r;\n"
	"  IF o_kept AND p_options IS NOT NULL THEN\n"
	"    UPDATE item_masks SET options = p_options WHERE item_id =\n"
	"      (SELECT i.id FROM items i JOIN runs r ON r.id = i.run_id WHERE r.name = p_run AND i.item = p_item);\n"
	"  END IF;\n"
	"END $$;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Runs sql (no parameters) and checks it; why filled on failure. */
int pgs_exec_ok(PGconn *c, const char *sql, char *why, size_t cap)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		pgs_first_line(PQresultErrorMessage(r), why, cap);
	PQclear(r);
	return ok;
}

/*
 * Applies the migrations the database lacks, under an advisory lock.
 * Returns 1 when done, 0 with why filled. *fatal is set when retrying
 * cannot help (the database is newer than this daemon, a migration fails).
 */
int pgs_migrate(PGconn *c, char *why, size_t cap, int *fatal)
{
	PGresult *r;
	int current = 0, ok = 1;
	char sql[128];

	*fatal = 0;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", (long long)LOCK_MIGRATE);
	if (!pgs_exec_ok(c, sql, why, cap))
		return 0;
	if (!pgs_exec_ok(c,
		     "CREATE SCHEMA IF NOT EXISTS segloss;"
		     "CREATE TABLE IF NOT EXISTS schema_migrations(version int PRIMARY KEY, applied_at bigint NOT NULL)",
		     why, cap)) {
		*fatal = PQstatus(c) == CONNECTION_OK;
		ok = 0;
	}
	if (ok) {
		r = PQexec(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			current = (int)pgs_int(r, 0, 0);
		} else {
			pgs_first_line(PQresultErrorMessage(r), why, cap);
			ok = 0;
		}
		PQclear(r);
	}
	if (ok && current > NMIGRATIONS) {
		snprintf(why, cap, "the database has schema version %d, newer than this seglossd (%d)", current, NMIGRATIONS);
		*fatal = 1;
		ok = 0;
	}
	for (int v = current + 1; ok && v <= NMIGRATIONS; v++) {
		char note[128];
		snprintf(note, sizeof(note), "INSERT INTO schema_migrations VALUES(%d, %lld)", v, (long long)store_now_ms());
		ok = pgs_exec_ok(c, "BEGIN", why, cap) && pgs_exec_ok(c, migrations[v - 1], why, cap) &&
		     pgs_exec_ok(c, note, why, cap) && pgs_exec_ok(c, "COMMIT", why, cap);
		if (!ok) {
			char scratch[8];
			*fatal = PQstatus(c) == CONNECTION_OK;
			pgs_exec_ok(c, "ROLLBACK", scratch, sizeof(scratch));
		}
	}
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", (long long)LOCK_MIGRATE);
	{
		char scratch[8];
		pgs_exec_ok(c, sql, scratch, sizeof(scratch));
	}
	return ok;
}

