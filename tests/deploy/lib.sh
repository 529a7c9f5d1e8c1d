# lib.sh — shared by the deploy checks; source it from bash.
#   deps_debs CMD=PACKAGE...  installs the Debian packages whose command is missing
#   deps_npm                  installs tests/deploy's npm packages (npm ci) when
#                             node_modules does not match package-lock.json

deploy_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

deps_debs() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "deploy: installing missing Debian packages: ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "deploy: not root; install them with: sudo apt-get install ${missing[*]}" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be missing on a fresh machine: refresh once if needed.
	# Another apt-get running is waited for, not a failure.
	local lock=(-o DPkg::Lock::Timeout=600)
	apt-get install "${lock[@]}" -y -q --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update "${lock[@]}" -q >&2 && apt-get install "${lock[@]}" -y -q --no-install-recommends "${missing[@]}" >&2; }
}

deps_npm() {
	local stamp="$deploy_dir/node_modules/.segloss-lock.sha256" want
	want=$(sha256sum "$deploy_dir/package-lock.json" | cut -d' ' -f1)
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		(cd "$deploy_dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
		echo "$want" >"$stamp"
	fi
}
