#!/bin/sh
# pg.sh — a throwaway PostgreSQL 15 server for the tests and benchmarks.
#
#   tests/scripts/pg.sh start DIR [fsync]   initdb + start; prints the environment to source
#   tests/scripts/pg.sh restart DIR         fast restart (same port, same data)
#   tests/scripts/pg.sh down DIR            fast shutdown, data kept (clients see it go)
#   tests/scripts/pg.sh up DIR              start again after down (same port, same data)
#   tests/scripts/pg.sh stop DIR            immediate stop, DIR removed
#   tests/scripts/pg.sh kill DIR            stop without removing DIR (a crash, for the fault tests)
#   tests/scripts/pg.sh run CMD...          start, run CMD with the environment, always stop
#
# Debian's postgresql-15 is installed when missing (scripts/deps.sh).
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user (created by the package) or, failing that, `nobody`;
# otherwise as the caller. The cluster lives in DIR (a fresh temporary
# folder), listens on 127.0.0.1 on a free port and on a socket in DIR,
# and its superuser `segloss` has a random password: connections over TCP
# use SCRAM, as a real deployment would. fsync is off unless the second
# argument of start is `fsync` (the benchmarks keep it on).
#
# The environment printed (and exported by `run`):
#   SEGLOSS_TEST_PG    a libpq URI of the database `postgres`
#   SEGLOSS_TEST_PG_DIR  DIR
#   PGPASSWORD         the password (libpq reads it)
#   PATH               with PostgreSQL's bin folder first (createdb, psql, pg_ctl)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bindir=/usr/lib/postgresql/15/bin

need_server() {
	[ -x "$bindir/initdb" ] || "$root/scripts/deps.sh" "$bindir/initdb=postgresql-15"
	[ -x "$bindir/initdb" ] || { echo "pg.sh: $bindir/initdb is missing" >&2; exit 1; }
}

# as_owner CMD...: runs CMD as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid="$owner" --regid="$group" --clear-groups env HOME="$dir" "$@"
	else
		"$@"
	fi
}

pick_owner() {
	if [ "$(id -u)" -ne 0 ]; then
		owner=$(id -u)
		group=$(id -g)
	elif id postgres >/dev/null 2>&1; then
		owner=$(id -u postgres)
		group=$(id -g postgres)
	else
		owner=$(id -u nobody)
		group=$(id -g nobody)
	fi
}

# A TCP port nobody listens on (from /proc/net/tcp*, state 0A = LISTEN).
free_port() {
	used=$(awk '$4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
	while :; do
		p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 30000) + 20000 ))
		hex=$(printf '%04X' "$p")
		echo "$used" | grep -qx "$hex" || { echo "$p"; return; }
	done
}

start() {
	dir=$1
	fsync=${2:-off}
	[ "$fsync" = fsync ] && fsync=on
	need_server
	pick_owner
	mkdir -p "$dir"
	chown "$owner:$group" "$dir"
	chmod 0700 "$dir"
	pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pw" >"$dir/password"
	chown "$owner:$group" "$dir/password"
	as_owner "$bindir/initdb" -D "$dir/data" -U segloss --pwfile="$dir/password" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	echo "$fsync" >"$dir/fsync"
	tries=0
	while :; do
		port=$(free_port)
		echo "$port" >"$dir/port"
		if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(server_opts "$dir")" \
			start >"$dir/pg_ctl.log" 2>&1; then
			break
		fi
		tries=$((tries + 1))
		# Another process took the port between the look and the bind: try another.
		[ $tries -lt 5 ] || { cat "$dir/pg_ctl.log" "$dir/server.log" >&2; exit 1; }
	done
	env_of "$dir"
}

env_of() {
	d=$1
	echo "SEGLOSS_TEST_PG='postgres://segloss@127.0.0.1:$(cat "$d/port")/postgres?sslmode=disable'"
	echo "SEGLOSS_TEST_PG_DIR='$d'"
	echo "PGPASSWORD='$(cat "$d/password")'"
	echo "PATH='$bindir:$PATH'"
	echo "export SEGLOSS_TEST_PG SEGLOSS_TEST_PG_DIR PGPASSWORD PATH"
}

server_opts() {
	echo "-p $(cat "$1/port") -k $1 -c listen_addresses=127.0.0.1 -c fsync=$(cat "$1/fsync") -c max_connections=300 -c shared_buffers=128MB"
}

restart() {
	dir=$1
	pick_owner
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast -o "$(server_opts "$dir")" \
		restart >/dev/null
}

down() {
	dir=$1
	pick_owner
	as_owner "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null
}

up() {
	dir=$1
	pick_owner
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(server_opts "$dir")" start >/dev/null
}

stop() {
	dir=$1
	[ -d "$dir/data" ] || return 0
	pick_owner
	as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	[ "${2:-}" = keep ] || rm -rf "$dir"
}

case ${1:-} in
start) start "$2" "${3:-}" ;;
restart) restart "$2" ;;
down) down "$2" ;;
up) up "$2" ;;
stop) stop "$2" ;;
kill) stop "$2" keep ;;
run)
	shift
	dir=$(mktemp -d /tmp/segloss-pg-XXXXXX)
	trap 'stop "$dir"' EXIT INT TERM
	eval "$(start "$dir")"
	echo "pg.sh: PostgreSQL 15 on 127.0.0.1:$(cat "$dir/port") in $dir" >&2
	status=0
	"$@" || status=$?
	exit $status
	;;
*)
	echo "usage: pg.sh start DIR [fsync] | restart DIR | down DIR | up DIR | stop DIR | kill DIR | run CMD..." >&2
	exit 2
	;;
esac
