#!/bin/sh
# deps.sh — make sure the libraries and tools segloss builds against exist.
#
# Called by make before the first build. Each library is looked up with
# pkg-config; whatever is missing is installed from Debian's packages when
# running as root (apt-get), otherwise the missing packages are listed and
# the script fails. Extra package names given as arguments are installed
# the same way when their command is missing (form: command=package).
set -eu

# pkg-config module -> Debian package
libs="libpng:libpng-dev check:check libmicrohttpd:libmicrohttpd-dev libcjson:libcjson-dev sqlite3:libsqlite3-dev libpq:libpq-dev libdeflate:libdeflate-dev zlib:zlib1g-dev libzstd:libzstd-dev"

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
command -v make >/dev/null 2>&1 || missing="$missing make"
for pair in $libs; do
	mod=${pair%%:*}
	pkg=${pair#*:}
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$mod"; then
		missing="$missing $pkg"
	fi
done
for pair in "$@"; do
	cmd=${pair%%=*}
	pkg=${pair#*=}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done

[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install them with: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine or image; refresh once if an install fails.
# Another apt-get running (a second make, the system's own) is waited for, not a failure.
lock="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
apt-get install $lock -y -q --no-install-recommends $missing >&2 ||
	{ apt-get update $lock -q >&2 && apt-get install $lock -y -q --no-install-recommends $missing >&2; }
