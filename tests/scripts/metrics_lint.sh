#!/bin/sh
# metrics_lint.sh — the /metrics exposition, after real traffic of every
# kind, passes `promtool check metrics` (Debian packages prometheus, curl).
#   tests/scripts/metrics_lint.sh BUILD_DIR
set -eu
build=${1:-build/release}
here=$(dirname "$0")
. "$here/daemon.sh"
scripts/deps.sh promtool=prometheus curl=curl
daemon_start "$build/seglossd" --workers 2 --db :memory:
trap 'daemon_stop >/dev/null 2>&1 || true' EXIT
base="http://127.0.0.1:$DAEMON_PORT"
f=tests/fixtures/blobs_soft8
curl -s -o /dev/null "$base/healthz"
curl -s -o /dev/null "$base/v1/losses"
curl -s -o /dev/null -F target=@$f/target.png -F prediction=@$f/prediction.png "$base/v1/evaluate"
curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"target": "!!"}' "$base/v1/evaluate"
curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"target": "QUJD", "prediction": "QUJD"}' "$base/v1/evaluate"
curl -s -o /dev/null "$base/nowhere"
curl -s -o /dev/null -F target=@$f/target.png -F prediction=@$f/prediction.png -F run=lint -F item=a "$base/v1/evaluate"
curl -s -o /dev/null -F target=@$f/target.png -F prediction=@$f/prediction.png -F run=lint -F item=b "$base/v1/jobs"
# The job runs in the background: wait until /metrics counts it done (a generous deadline, no fixed sleep).
tries=0
until curl -s "$base/metrics" > "$build/metrics.txt" &&
	grep -q 'segloss_jobs{status="done"} 1' "$build/metrics.txt" &&
	grep -q 'segloss_job_run_seconds_count 1' "$build/metrics.txt"; do
	tries=$((tries + 1))
	[ "$tries" -lt 1200 ] || { echo "metrics: the job did not finish within 60 s"; cat "$build/metrics.txt"; exit 1; }
	sleep 0.05
done
grep -q 'segloss_http_requests_total{route="evaluate",code="200"} 2' "$build/metrics.txt"
grep -q 'segloss_jobs{status="done"} 1' "$build/metrics.txt"
grep -q 'segloss_job_run_seconds_count 1' "$build/metrics.txt"
grep -q 'segloss_decode_errors_total{kind="base64"} 1' "$build/metrics.txt"
promtool check metrics < "$build/metrics.txt"
echo "metrics: promtool check metrics passed ($(grep -c '^[a-z]' "$build/metrics.txt") samples)"
