/*
 * testpg.c — databases for the PostgreSQL cases of the suites.
 *
 * Each test gets a database of its own (CREATE DATABASE on the server of
 * SEGLOSS_TEST_PG), named by the process and a counter, and drops it at
 * the end (WITH (FORCE): connections a test left open do not stop it).
 * The address handed to the store is a libpq key=value string built from
 * the server's URI with the database replaced.
 */
#include "testpg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *tpg_server(void)
{
	const char *s = getenv("SEGLOSS_TEST_PG");

	return s && s[0] ? s : NULL;
}

/* Appends key='value' (quoted for libpq) to out. */
static void put_kv(char *out, size_t cap, const char *key, const char *value)
{
	size_t n = strlen(out);

	n += (size_t)snprintf(out + n, cap - n, "%s%s='", n ? " " : "", key);
	for (const char *p = value; *p && n + 3 < cap; p++) {
		if (*p == '\'' || *p == '\\')
			out[n++] = '\\';
		out[n++] = *p;
	}
	snprintf(out + n, cap - n, "'");
}

/* The server's address with dbname replaced. */
static int address_of(const char *dbname, char *out, size_t cap)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(tpg_server(), &errmsg);

	if (opts == NULL) {
		fprintf(stderr, "testpg: SEGLOSS_TEST_PG: %s", errmsg ? errmsg : "unreadable\n");
		PQfreemem(errmsg);
		return -1;
	}
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && o->val[0] && strcmp(o->keyword, "dbname") != 0)
			put_kv(out, cap, o->keyword, o->val);
	put_kv(out, cap, "dbname", dbname);
	PQconninfoFree(opts);
	return 0;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static PGconn *connect_quiet(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);

	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

int tpg_exec(const char *dsn, const char *sql)
{
	PGconn *c = connect_quiet(dsn);
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "testpg: cannot connect: %s", PQerrorMessage(c));
	} else {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			rc = 0;
		else
			fprintf(stderr, "testpg: %s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(c);
	return rc;
}

int tpg_value(const char *dsn, const char *sql, char *out, size_t cap)
{
	PGconn *c = connect_quiet(dsn);
	int rc = -1;

	out[0] = '\0';
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "testpg: cannot connect: %s", PQerrorMessage(c));
	} else {
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			if (PQntuples(r) > 0 && PQnfields(r) > 0)
				snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
			rc = 0;
		} else {
			fprintf(stderr, "testpg: %s: %s", sql, PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	PQfinish(c);
	return rc;
}

int tpg_create(char *dsn, size_t cap)
{
	static int counter;
	char name[64], admin[1024], sql[128];

	if (tpg_server() == NULL)
		return -1;
	snprintf(name, sizeof(name), "segloss_t_%d_%d", (int)getpid(), counter++);
	if (address_of("postgres", admin, sizeof(admin)) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	if (tpg_exec(admin, sql) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (tpg_exec(admin, sql) != 0)
		return -1;
	return address_of(name, dsn, cap);
}

void tpg_drop(const char *dsn)
{
	char *errmsg = NULL, admin[1024], sql[160];
	PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);

	PQfreemem(errmsg);
	if (opts == NULL || address_of("postgres", admin, sizeof(admin)) != 0) {
		PQconninfoFree(opts);
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val) {
			snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", o->val);
			tpg_exec(admin, sql);
		}
	PQconninfoFree(opts);
}
