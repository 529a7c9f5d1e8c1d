#!/bin/sh
# store_bench.sh — make bench-store: recording and reading runs, on
# SQLite and on PostgreSQL, one daemon and three replicas.
#
#   bench/store_bench.sh BUILD_DIR [SECONDS]
#
# 1. Recording throughput: wrk posts 64x64 masks (PNG target and 8-bit
#    prediction, losses bce and dice, metric iou) with 8 connections over
#    8 runs, every item new, for SECONDS (10) each; seglossd --workers 1.
#    On SQLite, on PostgreSQL with one daemon, and on PostgreSQL with three
#    replicas (the 8 connections split 3/3/2, one wrk per replica). Each
#    run's aggregates are then checked against a recomputation from its
#    items (1e-12 relative at most).
# 2. Reading: a run of 100,000 items (written through the store), then
#    GET /v1/runs/{run} (count, mean, std, min, max kept as items are
#    written; median, p05 and p95 read from the index of values), and in
#    process the kept aggregates alone and with the percentiles.
#
# PostgreSQL 15 is a throwaway server (tests/scripts/pg.sh) with fsync on,
# as a real one; everything shares this machine's cores with wrk, and each
# line says how busy the cores were (from /proc/stat, every process on the
# machine counted): a daemon with one worker waits for each round trip to
# the database, three replicas keep the cores busy. The
# recording runs once with --db-sync normal (the default: an item's commit
# does not wait for the disk, as SQLite's WAL mode with synchronous=NORMAL)
# and once with full (every commit waits for its flush).
set -eu
build=${1:-build/release}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d /tmp/segloss-bench-XXXXXX)
pgdir=$(mktemp -d /tmp/segloss-pg-XXXXXX) # the server's user must reach it: not inside tmp (0700, ours)
pids=""
SYNC=normal
failed=0

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	"$root/tests/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

pgenv=$("$root/tests/scripts/pg.sh" start "$pgdir" fsync)
eval "$pgenv"
"$build/bench/gen_masks" 64 "$tmp" "bce,dice" >/dev/null
base64 -w0 "$tmp/target.png" >"$tmp/target.b64"
base64 -w0 "$tmp/prediction.png" >"$tmp/prediction.b64"

cat >"$tmp/record.lua" <<'LUA'
-- Every request a new item, the runs in turn; PREFIX keeps wrk processes apart. The
-- same masks every time, but dice's smoothing and iou's threshold vary, so the
-- scores (and the aggregates checked afterwards) do.
local function slurp(p) local f = io.open(p, "rb"); local s = f:read("*a"); f:close(); return s end
local target, prediction = slurp(os.getenv("TARGET")), slurp(os.getenv("PREDICTION"))
local runs, prefix = tonumber(os.getenv("RUNS")), os.getenv("PREFIX")
local n = 0
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function request()
	n = n + 1
	local body = '{"target":"' .. target .. '","prediction":"' .. prediction ..
		'","losses":["bce",{"name":"dice","smooth":' .. (n % 97) .. ',"as":"dice"}]' ..
		',"metrics":[{"name":"iou","threshold":' .. (0.3 + (n % 41) * 0.01) .. ',"as":"iou"}]' ..
		',"run":"bench-' .. (n % runs) .. '","item":"' .. prefix .. '-' .. tid .. '-' .. n .. '"}'
	return wrk.format("POST", "/v1/evaluate", {["Content-Type"] = "application/json"}, body)
end
LUA

# newdb NAME: a fresh database on the server; prints its address.
newdb() {
	psql -X -q -v ON_ERROR_STOP=1 "$SEGLOSS_TEST_PG" -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
	echo "$SEGLOSS_TEST_PG" | sed "s#/postgres?#/$1?#"
}

# start_daemon DB: seglossd --workers 1 on a free port; sets PORT, adds its pid to pids.
start_daemon() {
	log=$(mktemp "$tmp/log.XXXXXX")
	"$build/seglossd" --bind 127.0.0.1 --port 0 --workers 1 --queue 1024 --db "$1" --db-sync "${SYNC:-normal}" 2>"$log" &
	pid=$!
	pids="$pids $pid"
	PORT=""
	for _ in $(seq 400); do
		PORT=$(sed -n 's/.*seglossd listening.* port=\([0-9]*\).*/\1/p' "$log")
		[ -n "$PORT" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "seglossd did not start:" >&2
	cat "$log" >&2
	exit 1
}

stop_daemons() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=""
}

runs=""
for r in 0 1 2 3 4 5 6 7; do runs="$runs bench-$r"; done

# throughput LABEL DB REPLICAS: wrk with 8 connections split over the replicas; prints items/s.
throughput() {
	label=$1 db=$2 replicas=$3
	ports=""
	for _ in $(seq "$replicas"); do
		start_daemon "$db"
		ports="$ports $PORT"
	done
	i=0 wrks=""
	read -r _ u n s idle _ </proc/stat
	cpu0=$((u + n + s + idle)) idle0=$idle
	for port in $ports; do
		conns=$((8 / replicas + (i < 8 % replicas ? 1 : 0)))
		threads=$((conns > 1 ? 2 : 1))
		TARGET="$tmp/target.b64" PREDICTION="$tmp/prediction.b64" RUNS=8 PREFIX="r$i" \
			wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$tmp/record.lua" "http://127.0.0.1:$port/v1/evaluate" \
			>"$tmp/wrk.$i" 2>&1 &
		wrks="$wrks $!"
		i=$((i + 1))
	done
	for w in $wrks; do wait "$w" || echo "    wrk exited with status $?" >&2; done
	read -r _ u n s idle _ </proc/stat
	busy=$((100 - 100 * (idle - idle0) / (u + n + s + idle - cpu0)))
	total=0 errors=0
	for j in $(seq 0 $((i - 1))); do
		rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.$j")
		non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$tmp/wrk.$j")
		sockerr=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1+\2+\3+\4/p' "$tmp/wrk.$j")
		total=$(awk "BEGIN { print $total + ${rps:-0} }")
		errors=$((errors + ${non2xx:-0} + ${sockerr:-0}))
	done
	first=$(echo "$ports" | awk '{print $1}')
	check=$("$build/bench/store_bench" check "$first" $runs) || { failed=1; check="CHECK FAILED: $check"; }
	stop_daemons
	printf "%-34s %9.0f items/s   errors %d   both cores %d%% busy\n" "$label" "$total" "$errors" "$busy"
	echo "    $check"
}

echo "segloss bench-store on $(nproc) cores ($(uname -m)); PostgreSQL $(psql -X -At "$SEGLOSS_TEST_PG" -c 'SHOW server_version') with fsync on; seglossd --workers 1; wrk on the same machine"
echo
echo "1. recording: 64x64 masks, 8 runs, 8 connections, ${secs} s each (--db-sync normal, the default)"
throughput "SQLite, one daemon" "$tmp/bench.db" 1
throughput "PostgreSQL, one daemon" "$(newdb bench1)" 1
throughput "PostgreSQL, three replicas" "$(newdb bench3)" 3
echo "   with --db-sync full (every item waits for the disk's flush):"
SYNC=full
throughput "SQLite, one daemon" "$tmp/bench-full.db" 1
throughput "PostgreSQL, one daemon" "$(newdb bench1f)" 1
throughput "PostgreSQL, three replicas" "$(newdb bench3f)" 3
SYNC=normal

echo
echo "2. reading a run of 100,000 items (3 scores each)"
# read_figures LABEL DB: fills, then times the reads (PostgreSQL: again after VACUUM, which
# autovacuum does on its own a little later and which lets the percentiles use index-only scans).
read_figures() {
	label=$1 db=$2
	fill=$("$build/bench/store_bench" fill "$db" big 100000)
	start_daemon "$db"
	echo "  $label ($fill)"
	for pass in fresh vacuumed; do
		if [ $pass = vacuumed ]; then
			case "$db" in *://*) psql -X -q "$db" -c "VACUUM (ANALYZE) segloss.scores" ;; *) break ;; esac
		fi
		"$build/bench/store_bench" get "$PORT" big 5 >/dev/null # warm
		kept=$("$build/bench/store_bench" get "$PORT" "big?percentiles=false" 50)
		full=$("$build/bench/store_bench" get "$PORT" big 50)
		agg=$("$build/bench/store_bench" agg "$db" big 50)
		case "$db" in *://*) echo "    $pass:" ;; esac
		echo "    GET /v1/runs/big?percentiles=false (count, mean, std, min, max): median $(echo "$kept" | cut -d' ' -f1) ms, 95th $(echo "$kept" | cut -d' ' -f2) ms"
		echo "    GET /v1/runs/big (and median, p05, p95):                        median $(echo "$full" | cut -d' ' -f1) ms, 95th $(echo "$full" | cut -d' ' -f2) ms"
		echo "    in process: kept aggregates $(echo "$agg" | cut -d' ' -f1) ms; with the percentiles $(echo "$agg" | cut -d' ' -f2) ms"
	done
	check=$("$build/bench/store_bench" check "$PORT" big) || { failed=1; check="CHECK FAILED: $check"; }
	stop_daemons
	echo "    $check"
}
read_figures "SQLite" "$tmp/big.db"
read_figures "PostgreSQL" "$(newdb big)"
[ "$failed" -eq 0 ] || { echo "bench-store: an aggregate differed from its recomputation (see above)" >&2; exit 1; }
