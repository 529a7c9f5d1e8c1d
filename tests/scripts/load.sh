#!/bin/sh
# load.sh — seglossd under 32 concurrent clients, then shutdowns under load.
#
#   tests/scripts/load.sh BUILD_DIR [SECONDS]
#
# 1. SECONDS of valid, invalid and hostile requests: no wrong answer, no 5xx
#    but 503, resident memory under a bound (reported).
# 2. SIGTERM under load: every request the daemon accepted is answered;
#    exit status 0.
# 3. SIGKILL under load with jobs queued and running: after a restart on the
#    same database every accepted job finishes.
set -eu
build=${1:-build/release}
secs=${2:-60}
here=$(dirname "$0")
. "$here/daemon.sh"
scripts/deps.sh curl=curl
loadgen="$build/tests/loadgen"
tmp=$(mktemp -d)
trap 'kill "$DAEMON_PID" 2>/dev/null || true; rm -rf "$tmp"' EXIT
# A generous bound for 2 workers, a queue of 64 and 32 clients with bodies up to a few MB.
max_rss_mb=512

echo "== load: 32 clients, ${secs}s"
daemon_start "$build/seglossd" --db :memory: --workers 2 --queue 64
"$loadgen" --port "$DAEMON_PORT" --pid "$DAEMON_PID" --clients 32 --seconds "$secs" --max-rss-mb $max_rss_mb
daemon_stop TERM

echo "== SIGTERM under load"
daemon_start "$build/seglossd" --db :memory: --workers 2 --queue 64
log_copy="$tmp/term.log"
# The daemon's log is read after it exits: keep a copy of its path before daemon_stop removes it.
"$loadgen" --port "$DAEMON_PORT" --pid "$DAEMON_PID" --clients 32 --seconds 8 --sigterm-after 3 \
	--log "$DAEMON_LOG" || { cat "$DAEMON_LOG" | tail -20; exit 1; }
status=0
wait "$DAEMON_PID" || status=$?
grep -q "seglossd stopped" "$DAEMON_LOG"
rm -f "$DAEMON_LOG"
[ "$status" -eq 0 ] || { echo "seglossd exited $status after SIGTERM under load"; exit 1; }
echo "seglossd exited 0 after SIGTERM under load"

echo "== SIGKILL under load with jobs queued and running"
db="$tmp/jobs.db"
daemon_start "$build/seglossd" --db "$db" --workers 2 --queue 64
t=$(base64 -w0 tests/fixtures/many_touching_256/target.png)
p=$(base64 -w0 tests/fixtures/many_touching_256/prediction.png)
items=""
for i in 1 2 3 4 5 6; do
	items="$items${items:+,}{\"target\":\"$t\",\"prediction\":\"$p\",\"item\":\"i$i\"}"
done
: > "$tmp/ids"
for j in 1 2 3 4 5; do
	printf '{"items":[%s],"losses":["hausdorff_dt","boundary","shape_aware"],"metrics":["hausdorff95"],"run":"kill%s"}' \
		"$items" "$j" > "$tmp/job.json"
	id=$(curl -s -H 'Content-Type: application/json' --data-binary @"$tmp/job.json" \
		"http://127.0.0.1:$DAEMON_PORT/v1/jobs" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
	[ -n "$id" ] && echo "$id" >> "$tmp/ids"
done
[ "$(wc -l < "$tmp/ids")" -eq 5 ] || { echo "jobs were not all accepted"; exit 1; }
"$loadgen" --port "$DAEMON_PORT" --pid "$DAEMON_PID" --clients 16 --seconds 2 >/dev/null 2>&1 &
lg=$!
sleep 1
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
wait "$lg" 2>/dev/null || true
rm -f "$DAEMON_LOG"
daemon_start "$build/seglossd" --db "$db" --workers 2 --queue 64
grep -q "queued again" "$DAEMON_LOG" && grep "queued again" "$DAEMON_LOG"
for id in $(cat "$tmp/ids"); do
	for _ in $(seq 600); do
		st=$(curl -s "http://127.0.0.1:$DAEMON_PORT/v1/jobs/$id" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
		[ "$st" = done ] && break
		[ "$st" = failed ] || [ "$st" = canceled ] && { echo "job $id ended $st"; exit 1; }
		sleep 0.1
	done
	[ "$st" = done ] || { echo "job $id did not finish after the restart (status $st)"; exit 1; }
done
for j in 1 2 3 4 5; do
	n=$(curl -s "http://127.0.0.1:$DAEMON_PORT/v1/runs/kill$j" | sed -n 's/^{"name":"kill[0-9]","count":\([0-9]*\),.*/\1/p')
	[ "$n" = 6 ] || { echo "run kill$j has $n items, not 6"; exit 1; }
done
daemon_stop TERM
echo "all 5 jobs accepted before SIGKILL finished after the restart, each run with exactly 6 items"
