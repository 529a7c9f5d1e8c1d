#!/bin/sh
# pydeps.sh — make sure Debian's Python 3 has the modules the reference
# generators import; missing ones are installed from Debian's packages, as
# scripts/deps.sh does for commands. Arguments: module=package ...
# (the pyenv python3 first on PATH has no numpy: the generators run /usr/bin/python3).
set -eu

missing=""
[ -x /usr/bin/python3 ] || missing="python3"
for pair in "$@"; do
	mod=${pair%%=*}
	pkg=${pair#*=}
	if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c "import $mod" >/dev/null 2>&1; then
		missing="$missing $pkg"
	fi
done

[ -z "$missing" ] && exit 0

echo "pydeps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "pydeps: not root; install them with: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2 ||
	{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends $missing >&2; }
