#!/bin/sh
# run.sh — seglossd called from a real browser on another origin (CORS).
#
#   tests/browser/run.sh BUILD_DIR
#
# Serves tests/browser/page.html and a fixture's target and prediction PNGs
# from a static server on one loopback port, starts seglossd on another
# with --cors-origins naming the page's origin and an API key, and loads
# the page in headless Chromium (load.mjs, playwright-core: it waits until
# the page says it has finished, not for a set time). The page evaluates by multipart and by
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
web_pids=""
trap 'kill $web_pids "${DAEMON_PID:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Debian's python3 by its path: a python3 earlier on PATH (pyenv) does not count.
scripts/deps.sh chromium=chromium /usr/bin/python3=python3
root=$(pwd)
. tests/ui/npm.sh
browser=$(command -v chromium)

mkdir "$tmp/site"
cp "$here/page.html" "$fixture/target.png" "$fixture/prediction.png" "$tmp/site/"

# serve NAME: the page on a free loopback port; its port in $port. Two of
# them are two origins (an origin is scheme, host and port).
serve() {
	/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp/site" >"$tmp/$1.log" 2>&1 &
	web_pids="$web_pids $!"
	port=""
	for _ in $(seq 100); do
		port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/$1.log" | head -1)
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "the static server did not start"; cat "$tmp/$1.log"; exit 1
}
serve web
web_port=$port
serve other
other_port=$port

key=browser-test-key
daemon_start "$build/seglossd" --db :memory: --api-key "$key" --cors-origins "http://127.0.0.1:$web_port"
api="http://127.0.0.1:$DAEMON_PORT"

# load ORIGIN OUT: the page from ORIGIN, its #out text in OUT.
load() {
	CHROMIUM_BIN=$browser node "$here/load.mjs" "$1/page.html?api=$api&key=$key&run=browser" "$2.html" 2>"$2.err" || {
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

echo "== page from http://127.0.0.1:$other_port (not allowed)"
load "http://127.0.0.1:$other_port" "$tmp/refused"
/usr/bin/python3 "$here/check.py" refused "$tmp/refused.html"
daemon_stop
echo "browser test passed ($("$browser" --version 2>/dev/null | head -1))"
