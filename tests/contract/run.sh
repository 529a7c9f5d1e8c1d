#!/bin/sh
# Contract test: lint api/openapi.yaml, then check a live seglossd against it.
#
#   sh tests/contract/run.sh          (from anywhere; CI calls it from the project root)
#
# Installs Node.js and npm from Debian when missing, runs `npm ci` only
# when node_modules does not match package-lock.json, and builds seglossd
# (which embeds api/openapi.yaml) unless SEGLOSSD_BIN names another binary.
# Then tests/contract/golden.mjs: binary requests answered byte for byte
# as the first version answered them (CLI too: SEGLOSS_BIN); the store
# plays no part in it, so CONTRACT_NO_GOLDEN=1 skips it where the same
# build was already checked (the PostgreSQL run).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/tests/contract
cd "$root"

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NPM_CONFIG_UPDATE_NOTIFIER=false

# zstd: the contract test compresses bodies with it (Node 20's zlib has no zstd).
scripts/deps.sh node=nodejs npm=npm zstd=zstd

# npm ci wipes and reinstalls node_modules: do it only when the lockfile changed.
lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
stamp=$dir/node_modules/.contract-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	echo "$lock_sum" >"$stamp"
fi

if [ -z "${SEGLOSSD_BIN:-}" ]; then
	make -s build/release/seglossd
fi
if [ -z "${SEGLOSS_BIN:-}" ] && [ -z "${CONTRACT_NO_GOLDEN:-}" ]; then
	make -s build/release/segloss
fi

"$dir/node_modules/.bin/redocly" lint api/openapi.yaml --config "$dir/redocly.yaml"
node "$dir/contract.mjs"
if [ -z "${CONTRACT_NO_GOLDEN:-}" ]; then
	node "$dir/golden.mjs"
fi
