#!/bin/sh
# npm.sh — sourced by tests/ui/run.sh and tests/browser/run.sh: Debian's
# nodejs and npm when missing, then tests/ui's npm packages (playwright-core,
# axe-core, pinned in its package-lock.json) installed once per lock file.
# Expects $root, the checkout's top folder.

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "npm.sh: installing nodejs and npm from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq nodejs npm >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
fi

export NPM_CONFIG_UPDATE_NOTIFIER=false
ui_npm_dir=$root/tests/ui
ui_lock_sum=$(sha256sum "$ui_npm_dir/package-lock.json" | cut -d' ' -f1)
ui_stamp=$ui_npm_dir/node_modules/.ui-lock.sha256
if [ ! -f "$ui_stamp" ] || [ "$(cat "$ui_stamp")" != "$ui_lock_sum" ]; then
	(cd "$ui_npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	echo "$ui_lock_sum" >"$ui_stamp"
fi
