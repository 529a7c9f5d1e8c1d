/*
 * testpg.h — a fresh PostgreSQL database per test, on the server that
 * tests/scripts/pg.sh started (SEGLOSS_TEST_PG, with PGPASSWORD).
 */
#ifndef TESTPG_H
#define TESTPG_H

#include <stddef.h>

/* The server's URI (static), or NULL when SEGLOSS_TEST_PG is not set: the PostgreSQL cases are left out. */
const char *tpg_server(void);

/*
 * Creates an empty database on the server and writes a libpq key=value
 * string naming it into dsn (cap bytes). 0 on success, -1 with a message
 * on stderr.
 */
int tpg_create(char *dsn, size_t cap);

/* Drops the database of dsn (borrowed), ending its connections. */
void tpg_drop(const char *dsn);

/* Runs sql on dsn (both borrowed); 0 on success, -1 with a message on stderr. */
int tpg_exec(const char *dsn, const char *sql);

/*
 * Runs sql on dsn and writes the first column of its first row into out
 * (empty for none or NULL). 0 on success, -1 with a message on stderr.
 */
int tpg_value(const char *dsn, const char *sql, char *out, size_t cap);

#endif
