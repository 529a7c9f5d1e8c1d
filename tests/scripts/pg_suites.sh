#!/bin/sh
# pg_suites.sh — the store, runs and jobs suites (multi-class runs too), the run routes of check_http and
# the contract test on PostgreSQL. Run it through tests/scripts/pg.sh run, which starts a
# throwaway server and sets SEGLOSS_TEST_PG, PGPASSWORD and PATH:
#
#   tests/scripts/pg.sh run tests/scripts/pg_suites.sh BUILD_DIR
#
# The suites run only their "postgres" cases (make check ran the SQLite
# ones). The contract test's main daemon gets a database of its own and
# its password from a file (SEGLOSS_DB_FILE's flag, --db-file), not from
# PGPASSWORD.
set -eu
build=${1:-build/release}
: "${SEGLOSS_TEST_PG:?run me through tests/scripts/pg.sh run}"

for t in check_store check_runs check_mcruns check_http; do
	echo "== $build/tests/$t (postgres)"
	CK_RUN_CASE=postgres SEGLOSS_BIN="$build/segloss" SEGLOSSD_BIN="$build/seglossd" "$build/tests/$t"
done

echo "== contract (postgres)"
psql -X -q -v ON_ERROR_STOP=1 "$SEGLOSS_TEST_PG" -c "SET client_min_messages = warning" -c 'DROP DATABASE IF EXISTS segloss_contract WITH (FORCE)' -c 'CREATE DATABASE segloss_contract'
pwfile=$(mktemp)
trap 'rm -f "$pwfile"' EXIT
printf '%s\n' "$PGPASSWORD" >"$pwfile"
CONTRACT_DB=$(echo "$SEGLOSS_TEST_PG" | sed 's#/postgres?#/segloss_contract?#') CONTRACT_DB_FILE=$pwfile \
	SEGLOSSD_BIN="$build/seglossd" CONTRACT_NO_GOLDEN=1 sh tests/contract/run.sh
