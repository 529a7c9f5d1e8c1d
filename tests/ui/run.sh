#!/bin/sh
# run.sh — the page seglossd serves, driven in Debian's headless Chromium.
#
#   tests/ui/run.sh BUILD_DIR        (make ui-test; from the project root)
#
# Installs what is missing: Chromium from Debian (the chromium package,
# never a browser download), Node.js and npm from Debian when there is no
# node, and this folder's npm packages (playwright-core, axe-core) with
# `npm ci` from package-lock.json when node_modules does not match it.
# Then ui.mjs starts its own seglossd instances on loopback ports and
# drives the page; screenshots go to BUILD_DIR/ui-test/.
set -eu
build=${1:-build/release}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/tests/ui
cd "$root"

scripts/deps.sh chromium=chromium
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "run.sh: installing nodejs and npm from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq nodejs npm >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
fi

export NPM_CONFIG_UPDATE_NOTIFIER=false
# npm ci wipes and reinstalls node_modules: only when the lockfile changed.
lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
stamp=$dir/node_modules/.ui-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	echo "$lock_sum" >"$stamp"
fi

mkdir -p "$build/ui-test"
SEGLOSSD_BIN="$build/seglossd" SEGLOSS_BIN="$build/segloss" UI_OUT="$build/ui-test" \
	CHROMIUM_BIN=$(command -v chromium) node "$dir/ui.mjs"
