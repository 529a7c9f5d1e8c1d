#!/bin/bash
# validate-dashboard.sh — the compose stack, its Prometheus config and the
# Grafana dashboard, checked against a live seglossd.
#
#   tests/deploy/validate-dashboard.sh
#
# 1. seglossd (build/release, built by make if needed) on a free loopback
#    port with an in-memory store; requests of every kind (evaluate, decode
#    errors, a 404, a weight map, a recorded run, a job run to the end), so
#    that every metric family shows; then /metrics and the run's JSON;
# 2. tests/deploy/dashboard-check.mjs: deploy/grafana/segloss.json is valid,
#    every PromQL expression parses and names only metrics from that
#    /metrics, every Infinity query works on that run's JSON;
# 3. promtool check config deploy/prometheus/prometheus.yml;
# 4. tests/deploy/compose-check.mjs on deploy/compose/docker-compose.yml
#    (schema and stack), and `docker compose config` where a compose with
#    an engine-free `config` is installed;
# 5. yamllint (tests/deploy/yamllint.yaml) on compose, Prometheus and
#    Grafana provisioning files.
# Missing Debian packages (prometheus for promtool, yamllint, nodejs, npm,
# curl) are installed as root. Exits non-zero on any problem; ends with
# "N passed, N failed".
set -euo pipefail

cd "$(dirname "$0")/../.."
. tests/deploy/lib.sh
. tests/scripts/daemon.sh

deps_debs promtool=prometheus yamllint=yamllint node=nodejs npm=npm curl=curl
deps_npm

work=$(mktemp -d)
DAEMON_PID=""
cleanup() {
	[ -n "$DAEMON_PID" ] && daemon_stop >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check NAME COMMAND...: runs it, counts it
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
	fi
}

# ---- 1. a live seglossd with traffic of every kind ---------------------------
make -j2 all >&2
daemon_start build/release/seglossd --workers 2 --db :memory:
base="http://127.0.0.1:$DAEMON_PORT"
f=tests/fixtures/blobs_soft8
req() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
traffic() {
	local codes=""
	codes+=" $(req "$base/healthz") $(req "$base/readyz") $(req "$base/v1/losses") $(req "$base/nowhere")"
	codes+=" $(req -F target=@$f/target.png -F prediction=@$f/prediction.png "$base/v1/evaluate")"
	codes+=" $(req -F target=@$f/target.png "$base/v1/weight-map")"
	# decode errors: base64, png, npy, json, multipart
	codes+=" $(req -H 'Content-Type: application/json' -d '{"target": "!!", "prediction": "!!"}' "$base/v1/evaluate")"
	codes+=" $(req -H 'Content-Type: application/json' -d '{"target": "iVBORw0KGgpKVU5LSlVOSw==", "prediction": "QUJD"}' "$base/v1/evaluate")"
	codes+=" $(req -H 'Content-Type: application/json' -d '{"target": "k05VTVBZAQB2AHsn", "prediction": "QUJD"}' "$base/v1/evaluate")"
	codes+=" $(req -H 'Content-Type: application/json' -d '{"target": ' "$base/v1/evaluate")"
	codes+=" $(req -H 'Content-Type: multipart/form-data; boundary=x' --data-binary $'--x\r\nbroken' "$base/v1/evaluate")"
	# a run with two items, and a job that records a third
	codes+=" $(req -F target=@$f/target.png -F prediction=@$f/prediction.png -F run=deploy-check -F item=a \
		-F losses=bce,dice,focal -F metrics=iou,dice "$base/v1/evaluate")"
	codes+=" $(req -F target=@$f/target.png -F prediction=@$f/prediction.png -F run=deploy-check -F item=b \
		-F losses=bce,dice,focal -F metrics=iou,dice "$base/v1/evaluate")"
	local loc
	loc=$(curl -s -D - -o /dev/null -F target=@$f/target.png -F prediction=@$f/prediction.png \
		-F run=deploy-check -F item=c -F losses=bce,dice,focal -F metrics=iou,dice "$base/v1/jobs" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
	[ -n "$loc" ] || {
		echo "no job accepted" >&2
		return 1
	}
	local status=""
	for _ in $(seq 100); do
		status=$(curl -s "$base$loc" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
		[ "$status" = done ] && break
		sleep 0.1
	done
	echo "responses:$codes; job $status" >&2
	[ "$status" = done ] || return 1
	curl -sf "$base/metrics" >"$work/metrics.txt"
	curl -sf "$base/v1/runs/deploy-check" >"$work/run.json"
}
check "seglossd traffic of every kind" traffic
echo "metrics: $(grep -c '^# TYPE' "$work/metrics.txt" || true) families, $(grep -c '^[a-z]' "$work/metrics.txt" || true) samples"
daemon_stop >/dev/null 2>&1 || true
DAEMON_PID=""

# ---- 2. the dashboard ---------------------------------------------------------
check "dashboard against live /metrics and run JSON" \
	node tests/deploy/dashboard-check.mjs deploy/grafana/segloss.json "$work/metrics.txt" "$work/run.json"

# ---- 3. Prometheus ------------------------------------------------------------
check "promtool check config" promtool check config deploy/prometheus/prometheus.yml

# ---- 4. compose ---------------------------------------------------------------
check "compose file (schema and stack)" node tests/deploy/compose-check.mjs deploy/compose/docker-compose.yml
if docker compose version >/dev/null 2>&1; then
	check "docker compose config" docker compose -f deploy/compose/docker-compose.yml config -q
else
	echo "skip docker compose config: no compose plugin here (the schema check above stands in)"
fi

# ---- 5. yamllint ---------------------------------------------------------------
check "yamllint compose, prometheus, grafana" yamllint --strict -c tests/deploy/yamllint.yaml \
	deploy/compose deploy/prometheus deploy/grafana/provisioning

echo "validate-dashboard: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
