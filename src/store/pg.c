/*
 * pg.c — the PostgreSQL backend: many daemons, one database. This file
 * holds the connections, the schema migrations and the keeper thread;
 * the statements are in pg_runs.c and pg_jobs.c.
 *
 * Connections. A pool of cfg->connections libpq connections (sized by
 * the daemon to its workers plus the job runner); a thread takes a free
 * slot for one call and gives it back, waiting when all are taken. Every
 * call is a single statement (the multi-statement writes are functions
 * in the database: segloss_record, segloss_job_insert, ...), so a call is
 * one round trip and commits by itself. Connections set search_path to
 * the schema `segloss`, which the migrations create.
 *
 * Losing the database (a restart, a failover, a network cut). A call
 * whose connection is found broken is run once more on a fresh one when
 * running it twice is harmless (reads, and recording an item, which
 * replaces); otherwise, or when the second attempt fails too, it fails
 * with SEG_ESTORE ("store: PostgreSQL is unreachable: ...", 503 for the
 * client). While the database is unreachable calls fail at once instead
 * of each waiting for a connection timeout: a new connection is tried at
 * most once a second by the calls and once a second by the keeper, and
 * the first that succeeds brings the store back up. The daemon never has
 * to be restarted. A loss, once noticed (by a call or by the keeper),
 * marks every pooled connection opened before it stale: each is opened
 * anew before its next use, so a server restart costs each call that
 * is not safe to repeat nothing, rather than one failure per idle
 * connection that libpq still believes open.
 *
 * The keeper thread owns one more connection: it LISTENs on channel
 * segloss_jobs (a job queued by any daemon wakes this one's runner at
 * once; the runner also polls every second), renews the lease of the job
 * this daemon runs every lease/3, and samples the job counts and the
 * database size for /metrics, so that /metrics and /readyz never wait on
 * the database. It also notices a lost server first, and reconnects.
 *
 * The schema and its migrations are in pg_schema.c; the first connection
 * applies what the database lacks (or, when the server cannot be
 * reached at start, the keeper or the first call does once it can: the
 * store is not up before the schema is there).
 *
 * The address may hold a password; it is never logged or put in a
 * message (store_pg_describe gives the address without it). The password
 * comes from PGPASSWORD or PGPASSFILE (libpq reads them), or from the
 * file cfg->password_file (a Kubernetes Secret), read again at every
 * connection so a rotated Secret is picked up.
 */
#define _GNU_SOURCE /* pipe2 */
#include "store/pg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

/* ---- small helpers ----------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of a libpq message, without "ERROR:  " or "FATAL:  ". */
void pgs_first_line(const char *msg, char *out, size_t cap)
{
	const char *p = msg ? msg : "";
	size_t n;

	if (strncmp(p, "ERROR:  ", 8) == 0 || strncmp(p, "FATAL:  ", 8) == 0)
		p += 8;
	n = strcspn(p, "\n");
	if (n == 0) {
		snprintf(out, cap, "no reason given");
		return;
	}
	snprintf(out, cap, "%.*s", (int)n, p);
}

int64_t pgs_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pgs_double(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

int64_t pgs_bin_int(const PGresult *r, int row, int col)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);
	uint64_t x = 0;

	if (PQgetisnull(r, row, col) || (n != 2 && n != 4 && n != 8 && n != 1))
		return 0;
	for (int i = 0; i < n; i++)
		x = (x << 8) | v[i];
	if (n == 1)
		return (int64_t)x;
	if (n == 2)
		return (int16_t)x;
	if (n == 4)
		return (int32_t)x;
	return (int64_t)x;
}

void store_pg_describe(const char *where, char *out, size_t cap)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(where, &errmsg);
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL;

	if (opts == NULL) {
		PQfreemem(errmsg);
		snprintf(out, cap, "postgresql://(an address libpq cannot read)");
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && host == NULL))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	snprintf(out, cap, "postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "", host ? host : "",
		 port ? ":" : "", port ? port : "", db ? db : "");
	PQconninfoFree(opts);
}

/* ---- state --------------------------------------------------------------------------- */

static void set_down(pgs *p, const char *why)
{
	int was;

	pthread_mutex_lock(&p->lock);
	was = p->up;
	if (was)
		p->losses++; /* every pooled connection may be stale now */
	p->up = 0;
	p->last_try_ms = mono_ms();
	snprintf(p->detail, sizeof(p->detail), "%s", why);
	pthread_mutex_unlock(&p->lock);
	if (was)
		log_msg("warn", "store: PostgreSQL at %s is unreachable: %s", p->place, why);
}

static void set_up(pgs *p, int reconnect)
{
	int was;

	pthread_mutex_lock(&p->lock);
	was = p->up;
	p->up = 1;
	p->detail[0] = '\0';
	if (reconnect)
		p->reconnects++;
	pthread_mutex_unlock(&p->lock);
	if (!was)
		log_msg("info", "store: PostgreSQL at %s answers", p->place);
}

/* ---- connecting ------------------------------------------------------------------------ */

/* Notices ("schema already exists, skipping") are not errors: not printed. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The password file's first line, or "" (never logged). */
static void read_password(const char *path, char *out, size_t cap)
{
	FILE *f = path ? fopen(path, "r") : NULL;

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
}

/*
 * A new connection with the session set up, or NULL with why filled.
 * Settings before dbname are defaults the address may override; the
 * password file comes after it and wins.
 */
static PGconn *connect_db(pgs *p, char *why, size_t cap)
{
	char password[1024];
	const char *kw[12], *val[12];
	int n = 0;
	PGconn *c;
	PGresult *r;

	kw[n] = "connect_timeout", val[n++] = "5";
	kw[n] = "keepalives", val[n++] = "1";
	kw[n] = "keepalives_idle", val[n++] = "10";
	kw[n] = "keepalives_interval", val[n++] = "5";
	kw[n] = "keepalives_count", val[n++] = "3";
	kw[n] = "tcp_user_timeout", val[n++] = "15000";
	kw[n] = "application_name", val[n++] = "seglossd";
	kw[n] = "dbname", val[n++] = p->where;
	read_password(p->password_file, password, sizeof(password));
	if (password[0])
		kw[n] = "password", val[n++] = password;
	kw[n] = NULL, val[n] = NULL;
	c = PQconnectdbParams(kw, val, 1);
	memset(password, 0, sizeof(password));
	if (c == NULL) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		pgs_first_line(PQerrorMessage(c), why, cap);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, p->sync_full ? "SET search_path TO segloss; SET statement_timeout TO '60s'"
				   : "SET search_path TO segloss; SET statement_timeout TO '60s'; SET synchronous_commit TO off");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pgs_first_line(PQresultErrorMessage(r), why, cap);
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* ---- the pool ---------------------------------------------------------------------------- */

static int take_slot(pgs *p)
{
	int slot = -1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* A connected slot first, so idle connections get reused rather than opened. */
		for (int i = 0; i < p->nconns && slot < 0; i++)
			if (!p->busy[i] && p->conns[i])
				slot = i;
		for (int i = 0; i < p->nconns && slot < 0; i++)
			if (!p->busy[i])
				slot = i;
		if (slot >= 0)
			break;
		pthread_cond_wait(&p->freed, &p->lock);
	}
	p->busy[slot] = 1;
	pthread_mutex_unlock(&p->lock);
	return slot;
}

static void give_slot(pgs *p, int slot)
{
	pthread_mutex_lock(&p->lock);
	p->busy[slot] = 0;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Makes sure the slot (ours) holds a working connection; SEG_ESTORE when
 * the database cannot be reached. A connection opened before the latest
 * loss is replaced even though libpq still calls it fine: after a restart
 * of the server it is closed at the other end, and only its first use
 * would tell.
 */
static seg_status ensure(pgs *p, int slot, seg_error *err)
{
	char why[160];
	int may_try, reconnect, stale, migrated, fatal = 0;
	uint64_t gen;
	PGconn *c;

	pthread_mutex_lock(&p->lock);
	stale = p->conn_gen[slot] != p->losses;
	pthread_mutex_unlock(&p->lock);
	if (p->conns[slot] && !stale && PQstatus(p->conns[slot]) == CONNECTION_OK)
		return SEG_OK;
	if (p->conns[slot]) {
		PQfinish(p->conns[slot]);
		p->conns[slot] = NULL;
	}
	pthread_mutex_lock(&p->lock);
	/* While the database is down, one attempt a second, not one per call. */
	may_try = p->up || mono_ms() - p->last_try_ms >= 1000;
	if (!may_try)
		snprintf(why, sizeof(why), "%s", p->detail);
	else if (!p->up)
		p->last_try_ms = mono_ms();
	reconnect = p->had[slot];
	/* Read before connecting: a loss noticed meanwhile makes this connection stale too. */
	gen = p->losses;
	migrated = p->migrated;
	pthread_mutex_unlock(&p->lock);
	if (!may_try)
		return seg_fail(err, SEG_ESTORE, "store: PostgreSQL is unreachable: %s", why);
	c = connect_db(p, why, sizeof(why));
	/*
	 * The server answered but the schema may not be there yet (it could
	 * not be reached at start): not up until it is, or a call would fail
	 * on a missing table while /readyz says up. Under the advisory lock,
	 * so a keeper migrating too waits its turn and finds nothing to do.
	 */
	if (c != NULL && !migrated) {
		if (pgs_migrate(c, why, sizeof(why), &fatal)) {
			pthread_mutex_lock(&p->lock);
			p->migrated = 1;
			pthread_mutex_unlock(&p->lock);
		} else {
			PQfinish(c);
			c = NULL;
		}
	}
	if (c == NULL) {
		set_down(p, why);
		return seg_fail(err, SEG_ESTORE, "store: PostgreSQL is unreachable: %s", why);
	}
	p->conns[slot] = c;
	p->prepared[slot].n = 0; /* a new session has none */
	pthread_mutex_lock(&p->lock);
	p->had[slot] = 1;
	p->conn_gen[slot] = gen;
	pthread_mutex_unlock(&p->lock);
	set_up(p, reconnect);
	return SEG_OK;
}

/* Whether a failed call lost its connection (rather than the server refusing the statement). */
static int connection_lost(PGconn *c, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(c) != CONNECTION_OK)
		return 1;
	/* 08: connection exception; 57P01..57P03: the server is shutting down or starting. */
	return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0);
}

/*
 * Runs call on the slot's connection, prepared the first time (statements
 * are static strings, known by address): a statement is parsed and
 * planned once per connection, then only executed. A failed PREPARE's
 * result is returned as the failure.
 */
static PGresult *execute(pgs *p, int slot, const pgs_call *call)
{
	struct pgs_prepared *pr = &p->prepared[slot];
	PGconn *c = p->conns[slot];
	char name[16];
	int i;

	for (i = 0; i < pr->n && pr->sql[i] != call->sql; i++)
		;
	if (i == pr->n && i == PGS_PREPARED) /* cannot happen with this backend's statements: run it unprepared */
		return PQexecParams(c, call->sql, call->nparams, NULL, call->values, call->lengths, call->formats,
				    call->binary);
	snprintf(name, sizeof(name), "s%d", i);
	if (i == pr->n) {
		PGresult *r = PQprepare(c, name, call->sql, call->nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
		pr->sql[pr->n++] = call->sql;
	}
	return PQexecPrepared(c, name, call->nparams, call->values, call->lengths, call->formats, call->binary);
}

seg_status pgs_run(pgs *p, const pgs_call *call, PGresult **res, seg_error *err)
{
	char why[200];

	*res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		int slot = take_slot(p);
		seg_status rc = ensure(p, slot, err);
		if (rc != SEG_OK) {
			give_slot(p, slot);
			if (call->write) {
				pthread_mutex_lock(&p->lock);
				p->write_errors++;
				pthread_mutex_unlock(&p->lock);
			}
			return rc;
		}
		PGconn *c = p->conns[slot];
		PGresult *r = execute(p, slot, call);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			give_slot(p, slot);
			*res = r;
			return SEG_OK;
		}
		pgs_first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c), why, sizeof(why));
		int lost = connection_lost(c, r);
		PQclear(r);
		if (lost) {
			PQfinish(c);
			p->conns[slot] = NULL;
			/* News only when this connection was opened after the last loss noticed. */
			pthread_mutex_lock(&p->lock);
			if (p->conn_gen[slot] == p->losses)
				p->losses++;
			pthread_mutex_unlock(&p->lock);
		}
		give_slot(p, slot);
		if (lost && call->retry && attempt == 0)
			continue; /* once more, on a fresh connection */
		if (call->write) {
			pthread_mutex_lock(&p->lock);
			p->write_errors++;
			pthread_mutex_unlock(&p->lock);
		}
		if (lost)
			return seg_fail(err, SEG_ESTORE, "store: lost the connection to PostgreSQL: %s", why);
		return seg_fail(err, SEG_ESTORE, "store: %s", why);
	}
	return seg_fail(err, SEG_ESTORE, "store: lost the connection to PostgreSQL");
}

void pgs_hold(pgs *p, const char *id)
{
	pthread_mutex_lock(&p->lock);
	snprintf(p->held, sizeof(p->held), "%s", id ? id : "");
	pthread_mutex_unlock(&p->lock);
}

/* ---- the keeper ------------------------------------------------------------------------------ */

static int stopping(pgs *p)
{
	int s;

	pthread_mutex_lock(&p->lock);
	s = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* Sleeps up to ms, or until close writes to the pipe. */
static void nap(pgs *p, int ms)
{
	struct pollfd fd = {p->wake[0], POLLIN, 0};

	if (poll(&fd, 1, ms) > 0) {
		char b[16];
		while (read(p->wake[0], b, sizeof(b)) > 0)
			;
	}
}

static void call_hook(pgs *p)
{
	void (*fn)(void *);
	void *arg;

	pthread_mutex_lock(&p->lock);
	fn = p->hook;
	arg = p->hook_arg;
	if (fn)
		p->hook_calls++;
	pthread_mutex_unlock(&p->lock);
	if (fn == NULL)
		return;
	fn(arg);
	pthread_mutex_lock(&p->lock);
	p->hook_calls--;
	pthread_cond_broadcast(&p->hook_idle);
	pthread_mutex_unlock(&p->lock);
}

/* Whether a call of the hook is due (clearing it). */
static int hook_due(pgs *p)
{
	int due;

	pthread_mutex_lock(&p->lock);
	due = p->hook_due;
	p->hook_due = 0;
	pthread_mutex_unlock(&p->lock);
	return due;
}

/* Drains notifications; 1 when there was one. */
static int notified(PGconn *c)
{
	PGnotify *n;
	int any = 0;

	while ((n = PQnotifies(c)) != NULL) {
		any = 1;
		PQfreemem(n);
	}
	return any;
}

/* The keeper's periodic statements; 0 when the connection was lost. */
static int keep(pgs *p, PGconn *c, int64_t now, int64_t *last_renew, int64_t *last_counts, int64_t *last_size)
{
	char held[40], lease[24];
	PGresult *r;

	pthread_mutex_lock(&p->lock);
	snprintf(held, sizeof(held), "%s", p->held);
	pthread_mutex_unlock(&p->lock);
	if (held[0] && now - *last_renew >= p->lease_ms / 3) {
		const char *v[3] = {held, p->owner, lease};
		snprintf(lease, sizeof(lease), "%d", p->lease_ms);
		r = PQexecParams(c,
				 "UPDATE jobs SET lease_until = now() + ($3::float8 * interval '1 millisecond') "
				 "WHERE id = $1 AND owner = $2 AND status = 1",
				 3, NULL, v, NULL, NULL, 0);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok && PQstatus(c) != CONNECTION_OK)
			return 0;
		*last_renew = now;
	}
	if (now - *last_counts >= 2000) {
		r = PQexec(c, pgs_sql_job_counts);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			int64_t counts[JOB_STATUS_COUNT] = {0};
			for (int i = 0; i < PQntuples(r); i++) {
				int64_t k = pgs_int(r, i, 0);
				if (k >= 0 && k < JOB_STATUS_COUNT)
					counts[k] = pgs_int(r, i, 1);
			}
			pthread_mutex_lock(&p->lock);
			memcpy(p->jobs, counts, sizeof(counts));
			p->jobs_known = 1;
			pthread_mutex_unlock(&p->lock);
		}
		PQclear(r);
		if (PQstatus(c) != CONNECTION_OK)
			return 0;
		*last_counts = now;
	}
	if (now - *last_size >= 10000) {
		r = PQexec(c, "SELECT pg_database_size(current_database())");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			int64_t size = pgs_int(r, 0, 0);
			pthread_mutex_lock(&p->lock);
			p->size_bytes = size;
			pthread_mutex_unlock(&p->lock);
		}
		PQclear(r);
		if (PQstatus(c) != CONNECTION_OK)
			return 0;
		*last_size = now;
	}
	return 1;
}

static void *keeper_main(void *arg)
{
	pgs *p = arg;
	PGconn *c = NULL;
	int had = 0;
	int64_t last_renew = 0, last_counts = 0, last_size = 0;
	int tick = p->lease_ms / 3 < 1000 ? p->lease_ms / 3 : 1000;

	while (!stopping(p)) {
		if (c == NULL) {
			char why[160];
			int fatal = 0, migrated;
			c = connect_db(p, why, sizeof(why));
			pthread_mutex_lock(&p->lock);
			migrated = p->migrated;
			pthread_mutex_unlock(&p->lock);
			if (c && !migrated) {
				if (pgs_migrate(c, why, sizeof(why), &fatal)) {
					pthread_mutex_lock(&p->lock);
					p->migrated = 1;
					pthread_mutex_unlock(&p->lock);
				} else {
					PQfinish(c);
					c = NULL;
				}
			}
			if (c && !pgs_exec_ok(c, "LISTEN segloss_jobs", why, sizeof(why))) {
				PQfinish(c);
				c = NULL;
			}
			if (c == NULL) {
				set_down(p, why);
				nap(p, 1000);
				continue;
			}
			set_up(p, had);
			had = 1;
			last_renew = last_counts = last_size = 0;
			/* Jobs may have been queued while we could not listen. */
			pthread_mutex_lock(&p->lock);
			p->hook_due = 1;
			pthread_mutex_unlock(&p->lock);
		}
		if (!keep(p, c, mono_ms(), &last_renew, &last_counts, &last_size)) {
			char why[160];
			pgs_first_line(PQerrorMessage(c), why, sizeof(why));
			PQfinish(c);
			c = NULL;
			set_down(p, why);
			continue;
		}
		/*
		 * One call for the connection and the setting of the hook together,
		 * whichever came first: a caller waiting for it sees exactly one.
		 */
		if (notified(c) + hook_due(p))
			call_hook(p);
		struct pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {p->wake[0], POLLIN, 0}};
		if (poll(fds, 2, tick) < 0 && errno != EINTR)
			nap(p, tick);
		if (fds[1].revents) {
			char b[16];
			while (read(p->wake[0], b, sizeof(b)) > 0)
				;
		}
		if (fds[0].revents) {
			if (!PQconsumeInput(c)) {
				char why[160];
				pgs_first_line(PQerrorMessage(c), why, sizeof(why));
				PQfinish(c);
				c = NULL;
				set_down(p, why);
				continue;
			}
			if (notified(c))
				call_hook(p);
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

/* ---- the table of functions ------------------------------------------------------------------- */

static void pgs_close(store *s)
{
	pgs *p = (pgs *)s;

	if (p->keeper_started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = 1;
		pthread_mutex_unlock(&p->lock);
		if (write(p->wake[1], "x", 1) < 0) {
			/* the keeper still wakes within a tick */
		}
		pthread_join(p->keeper, NULL);
	}
	for (int i = 0; i < p->nconns; i++)
		if (p->conns && p->conns[i])
			PQfinish(p->conns[i]);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	pthread_cond_destroy(&p->freed);
	pthread_cond_destroy(&p->hook_idle);
	pthread_mutex_destroy(&p->lock);
	free(p->conns);
	free(p->busy);
	free(p->had);
	free(p->conn_gen);
	free(p->prepared);
	free(p->where);
	free(p->password_file);
	free(p);
}

static void pgs_health(store *s, store_health *h)
{
	pgs *p = (pgs *)s;

	pthread_mutex_lock(&p->lock);
	h->up = p->up;
	snprintf(h->detail, sizeof(h->detail), "%s", p->up ? "" : p->detail);
	h->write_errors = p->write_errors;
	h->reconnects = p->reconnects;
	h->losses = p->losses;
	h->size_bytes = p->size_bytes;
	h->jobs_known = p->jobs_known;
	memcpy(h->jobs, p->jobs, sizeof(h->jobs));
	pthread_mutex_unlock(&p->lock);
}

static uint64_t pgs_losses(store *s, int *up)
{
	pgs *p = (pgs *)s;
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->losses;
	if (up)
		*up = p->up;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void pgs_set_job_hook(store *s, void (*fn)(void *arg), void *arg)
{
	pgs *p = (pgs *)s;

	pthread_mutex_lock(&p->lock);
	p->hook = fn;
	p->hook_arg = arg;
	/* A new hook hears once of jobs queued before it was set (the keeper calls it soon). */
	if (fn)
		p->hook_due = 1;
	/* The old arg may be freed once this returns: wait for a call of it the keeper is making. */
	while (p->hook_calls > 0)
		pthread_cond_wait(&p->hook_idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	if (fn && write(p->wake[1], "x", 1) < 0) {
		/* the keeper still calls it within a tick */
	}
}

static const store_ops pgs_ops = {
	.name = "postgres",
	.close = pgs_close,
	.health = pgs_health,
	.set_job_hook = pgs_set_job_hook,
	.losses = pgs_losses,
	.record = pgs_record,
	.item_mask = pgs_item_mask,
	.version = pgs_version,
	.list_runs = pgs_list_runs,
	.get_run = pgs_get_run,
	.run_keys = pgs_run_keys,
	.aggregates = pgs_aggregates,
	.run_summary = pgs_run_summary,
	.items = pgs_items,
	.compare = pgs_compare,
	.key_mean = pgs_key_mean,
	.delete_run = pgs_delete_run,
	.job_insert = pgs_job_insert,
	.job_get = pgs_job_get,
	.jobs_list = pgs_jobs_list,
	.job_claim = pgs_job_claim,
	.job_progress = pgs_job_progress,
	.job_finish = pgs_job_finish,
	.job_release = pgs_job_release,
	.job_cancel = pgs_job_cancel,
	.job_requeue = pgs_job_requeue,
	.job_purge = pgs_job_purge,
	.job_counts = pgs_job_counts,
};

store *store_pg_open(const store_config *cfg, seg_error *err)
{
	char *errmsg = NULL, host[64] = "", why[160];
	PQconninfoOption *opts = PQconninfoParse(cfg->where, &errmsg);
	pgs *p = NULL;
	uint32_t rnd = 0;
	int fatal = 0;

	if (opts == NULL) {
		/* libpq's message may quote the address, password included: not repeated. */
		PQfreemem(errmsg);
		seg_fail(err, SEG_EINVAL,
			 "store: SEGLOSS_DB is not a PostgreSQL URI (postgres://user@host:port/dbname?sslmode=...) or a "
			 "libpq key=value string that libpq can read");
		return NULL;
	}
	PQconninfoFree(opts);
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		seg_fail(err, SEG_ENOMEM, "store: out of memory");
		return NULL;
	}
	p->base.ops = &pgs_ops;
	p->wake[0] = p->wake[1] = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	pthread_cond_init(&p->hook_idle, NULL);
	p->nconns = cfg->connections > 0 ? cfg->connections : 4;
	p->lease_ms = cfg->lease_ms > 0 ? cfg->lease_ms : 30000;
	p->sync_full = cfg->sync_full;
	p->where = strdup(cfg->where);
	p->password_file = cfg->password_file ? strdup(cfg->password_file) : NULL;
	p->conns = calloc((size_t)p->nconns, sizeof(*p->conns));
	p->busy = calloc((size_t)p->nconns, 1);
	p->had = calloc((size_t)p->nconns, 1);
	p->conn_gen = calloc((size_t)p->nconns, sizeof(*p->conn_gen));
	p->prepared = calloc((size_t)p->nconns, sizeof(*p->prepared));
	if (p->where == NULL || (cfg->password_file && p->password_file == NULL) || p->conns == NULL ||
	    p->busy == NULL || p->had == NULL || p->conn_gen == NULL || p->prepared == NULL || pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		seg_fail(err, SEG_ENOMEM, "store: out of memory");
		goto fail;
	}
	store_pg_describe(cfg->where, p->place, sizeof(p->place));
	gethostname(host, sizeof(host) - 1);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)mono_ms();
	snprintf(p->owner, sizeof(p->owner), "%s:%d:%08x", host, (int)getpid(), rnd);
	/*
	 * Connect and migrate now when the database answers: a schema this
	 * daemon cannot use stops it here. When it does not answer, the store
	 * opens down and the keeper keeps trying.
	 */
	p->conns[0] = connect_db(p, why, sizeof(why));
	if (p->conns[0]) {
		if (!pgs_migrate(p->conns[0], why, sizeof(why), &fatal)) {
			if (fatal) {
				seg_fail(err, SEG_ESTORE, "store: PostgreSQL at %s: %s", p->place, why);
				goto fail;
			}
			PQfinish(p->conns[0]);
			p->conns[0] = NULL;
		} else {
			p->migrated = 1;
			p->had[0] = 1;
		}
	}
	if (p->conns[0]) {
		p->up = 1;
	} else {
		p->last_try_ms = mono_ms();
		snprintf(p->detail, sizeof(p->detail), "%s", why);
	}
	if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0) {
		seg_fail(err, SEG_EINTERNAL, "store: cannot start the PostgreSQL keeper thread");
		goto fail;
	}
	p->keeper_started = 1;
	return &p->base;
fail:
	pgs_close(&p->base);
	return NULL;
}
