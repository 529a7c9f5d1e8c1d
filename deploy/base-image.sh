#!/bin/bash
# base-image.sh — make sure podman has a local Debian 12 base image, made
# with debootstrap when there is none. Runs as root; needs no registry.
#
#   deploy/base-image.sh [IMAGE]          (default debian:bookworm-slim)
#
# Used by deploy/test-image.sh (the Dockerfile's FROM) and tests/fresh/run.sh
# (the bare machine of `make fresh-test`). When IMAGE exists it is kept;
# otherwise `debootstrap --variant=minbase bookworm` makes a root (the
# Essential and Required packages and apt, nothing else), slimmed as the
# official slim image is (no documentation, man pages or translations; apt
# keeps no caches), and `podman import` turns it into IMAGE. podman and
# debootstrap are installed from Debian when missing.
#
# Environment:
#   REBASE=1                 make IMAGE anew even when it exists
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR   override the mirrors read from apt's sources
set -euo pipefail

BASE=${1:-debian:bookworm-slim}

die() {
	printf 'base-image: FAILED: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and podman import need it)"

WORK=$(mktemp -d /tmp/segloss-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
	echo "base-image: installing ${need[*]} (Debian packages)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q -o DPkg::Lock::Timeout=600 "${need[@]}" >"$WORK/apt.log" 2>&1 ||
		{ apt-get update -q >>"$WORK/apt.log" 2>&1 &&
			apt-get install -y -q -o DPkg::Lock::Timeout=600 "${need[@]}" >>"$WORK/apt.log" 2>&1; } ||
		{ cat "$WORK/apt.log" >&2; die "apt-get install ${need[*]} failed"; }
fi

if [ "${REBASE:-0}" != 1 ] && podman image exists "$BASE"; then
	echo "base-image: reusing local $BASE ($(podman image inspect --format '{{.Created}}' "$BASE" | cut -d. -f1))"
	exit 0
fi

# The mirror this machine's apt uses for SUITE (deb822 sources first, then the
# one-line format); deb.debian.org when none names it.
apt_mirror() {
	local suite=$1 uri=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		uri=$(awk -v want="$suite" '
			function flush() {
				if (uris != "" && (" " suites " ") ~ (" " want " ")) { print uris; found = 1; exit }
				uris = ""; suites = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { suites = $0; sub(/^Suites:[ \t]*/, "", suites) }
			END { if (!found) flush() }' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
		uri=$(awk -v want="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[/ && $(i + 1) == want) { print $i; exit } }' \
			/etc/apt/sources.list)
	fi
	echo "${uri%/}"
}

mirror=${DEBIAN_MIRROR:-$(apt_mirror bookworm)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(apt_mirror bookworm-security)}
security=${security:-http://deb.debian.org/debian-security}
dir=$WORK/rootfs
echo "base-image: making $BASE with debootstrap (minbase, $mirror)"
t=$(now)
debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

# What the official slim image has: the three suites, no documentation,
# man pages or translations, and apt that keeps no caches.
cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$dir/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/groff/* "$dir"/usr/share/info/* "$dir"/usr/share/lintian/*
find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb
find "$dir/var/log" -type f -delete
: >"$dir/etc/resolv.conf"
echo localhost >"$dir/etc/hostname"

tar --numeric-owner -C "$dir" -c . |
	podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' --message "debootstrap --variant=minbase bookworm $mirror" \
		- "$BASE" >/dev/null || die "podman import of the debootstrap root failed"
echo "base-image: $BASE made in $(secs "$t" "$(now)") s ($(podman image inspect --format '{{.Size}}' "$BASE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
