#!/bin/sh
# run.sh — seglossd called from a real browser on another origin (CORS).
#
#   tests/browser/run.sh BUILD_DIR
#
# Serves tests/browser/page.html and a fixture's target and prediction PNGs
# from a static server on one loopback port, starts seglossd on another
# with --cors-origins naming the page's origin and an API key, and loads
# the page in headless Chromium. The page evaluates by multipart and by
# JSON (each after a preflight), reads a problem+json error, polls a run
# with its ETag, and calls without the key; check.py compares what it
# read with `segloss eval` on the same files. The same page loaded from
# an origin not in the list must be refused by the browser.
set -eu
build=${1:-build/release}
here=$(dirname "$0")
. "$here/../scripts/daemon.sh"
fixture=tests/fixtures/blobs_soft8
tmp=$(mktemp -d)
web_pid=""
trap 'kill "$web_pid" "${DAEMON_PID:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

scripts/deps.sh chromium=chromium python3=python3
browser=$(command -v chromium)

cp "$here/page.html" "$fixture/target.png" "$fixture/prediction.png" "$tmp/"
/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp" >"$tmp/web.log" 2>&1 &
web_pid=$!
web_port=""
for _ in $(seq 100); do
	web_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/web.log" | head -1)
	[ -n "$web_port" ] && break
	sleep 0.05
done
[ -n "$web_port" ] || { echo "the static server did not start"; cat "$tmp/web.log"; exit 1; }

key=browser-test-key
daemon_start "$build/seglossd" --db :memory: --api-key "$key" --cors-origins "http://127.0.0.1:$web_port"
api="http://127.0.0.1:$DAEMON_PORT"

# load ORIGIN OUT: the page from ORIGIN, its #out text in OUT.
load() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$tmp/profile" --virtual-time-budget=30000 \
		--dump-dom "$1/page.html?api=$api&key=$key&run=browser" >"$2.html" 2>"$2.err" || {
		echo "chromium failed:"; tail -20 "$2.err"; exit 1; }
}

echo "== page from http://127.0.0.1:$web_port (allowed) calling $api"
load "http://127.0.0.1:$web_port" "$tmp/allowed"
"$build/segloss" eval --target "$fixture/target.png" --prediction "$fixture/prediction.png" \
	--loss bce --loss dice --metric iou >"$tmp/cli.json"
/usr/bin/python3 "$here/check.py" allowed "$tmp/allowed.html" "$tmp/cli.json"
# The browser asked before each credentialed POST: the daemon logged its preflights.
grep -q 'method=OPTIONS path=/v1/evaluate status=204' "$DAEMON_LOG" ||
	{ echo "no CORS preflight reached seglossd"; exit 1; }
echo "ok   the browser sent preflights, answered 204"

echo "== page from http://localhost:$web_port (not allowed)"
load "http://localhost:$web_port" "$tmp/refused"
/usr/bin/python3 "$here/check.py" refused "$tmp/refused.html"
daemon_stop
echo "browser test passed ($("$browser" --version 2>/dev/null | head -1))"
