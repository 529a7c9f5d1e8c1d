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
. "$dir/npm.sh"

mkdir -p "$build/ui-test"
SEGLOSSD_BIN="$build/seglossd" SEGLOSS_BIN="$build/segloss" UI_OUT="$build/ui-test" \
	CHROMIUM_BIN=$(command -v chromium) node "$dir/ui.mjs"
