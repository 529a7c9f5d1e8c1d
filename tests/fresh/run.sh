#!/bin/bash
# run.sh — `make fresh-test`: the README's set-up on a bare Debian 12.
#
#   tests/fresh/run.sh [TARGET...]        (make fresh-test passes FRESH_TARGETS)
#
# 1. A minimal Debian 12 base image (deploy/base-image.sh: debootstrap
#    --variant=minbase, imported into podman; reused when present).
# 2. podman build of tests/fresh/Containerfile: on that base, only `make`
#    and `ca-certificates`, this machine's extra CA certificates
#    (/usr/local/share/ca-certificates/*.crt, then update-ca-certificates)
#    and its npm settings (~/.npmrc); then the checkout's tracked files as a
#    clean checkout has them (git archive of the working tree's tracked
#    files: uncommitted edits count, untracked and ignored files do not).
# 3. Its last step, tests/fresh/inside.sh: `make test`, then `make run` until
#    /healthz answers (then SIGTERM, exit 0), then `make TARGET` for each
#    TARGET. Everything else the project needs, it must install itself.
#
# The steps run as podman build RUN steps (--isolation chroot, the host's
# network): this needs no OCI runtime, which podman may be unable to start
# on this host (see deploy/test-image.sh); a build-arg that changes on every
# run keeps the test step out of the layer cache. The image is removed at
# the end; the base image and the cached make + CA layer are kept.
#
# Prints the steps' table (result, wall time) and the build's own steps;
# exits 1 naming the steps that failed. The whole output is also kept in
# build/fresh/fresh-test.log.
#
# Environment: REBASE=1 makes the base image anew; KEEP_IMAGE=1 keeps the
# tested image (segloss-fresh:latest) for a look inside.
set -euo pipefail

cd "$(dirname "$0")/../.."
BASE=debian:bookworm-slim
IMAGE=segloss-fresh:latest
T0=$(date +%s)

die() {
	printf '\nfresh-test: FAILED: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and podman build need it)"
if ! command -v git >/dev/null 2>&1; then
	echo "fresh-test: installing git (Debian package)"
	export DEBIAN_FRONTEND=noninteractive
	lock=(-o DPkg::Lock::Timeout=600)
	apt-get install "${lock[@]}" -y -q git >/dev/null ||
		{ apt-get update "${lock[@]}" -q >/dev/null && apt-get install "${lock[@]}" -y -q git >/dev/null; } ||
		die "apt-get install git failed"
fi
git rev-parse --git-dir >/dev/null 2>&1 || die "not a git checkout (the image gets the tracked files only)"

mkdir -p build/fresh
LOG=build/fresh/fresh-test.log
WORK=$(mktemp -d /tmp/segloss-fresh.XXXXXX)
cleanup() {
	local rc=$?
	set +e
	[ "${KEEP_IMAGE:-0}" = 1 ] || podman rmi -f "$IMAGE" >/dev/null 2>&1
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. base image -------------------------------------------------------------
t=$(now)
deploy/base-image.sh "$BASE"
BASE_SECS=$(secs "$t" "$(now)")

# ---- 2. build context: host settings and the tracked files ---------------------
ctx=$WORK/ctx
mkdir -p "$ctx/host/ca" "$ctx/src"
ncert=0
for c in /usr/local/share/ca-certificates/*.crt; do
	[ -f "$c" ] || continue
	cp "$c" "$ctx/host/ca/"
	ncert=$((ncert + 1))
done
if [ -f "$HOME/.npmrc" ]; then cp "$HOME/.npmrc" "$ctx/host/npmrc"; else : >"$ctx/host/npmrc"; fi
# The working tree's content of the tracked files (those in the index), as a
# tree written through a copy of the index: nothing of the checkout changes.
cp "$(git rev-parse --git-path index)" "$WORK/index"
GIT_INDEX_FILE=$WORK/index git add -u
tree=$(GIT_INDEX_FILE=$WORK/index git write-tree)
if [ "$tree" != "$(git rev-parse 'HEAD^{tree}')" ]; then
	echo "fresh-test: tracked files differ from HEAD: the image gets them as they are now"
fi
git archive --format=tar "$tree" | tar -x -C "$ctx/src"
echo "fresh-test: $(git ls-tree -r --name-only "$tree" | wc -l) tracked files of $(git rev-parse --short HEAD)," \
	"$ncert extra CA certificate(s), ~/.npmrc: $([ -s "$ctx/host/npmrc" ] && echo yes || echo none)"

# ---- 3. podman build: the bare machine, then the newcomer's steps ----------------
# --isolation chroot: RUN steps without an OCI runtime; --network host: the
# steps reach Debian and npm; --pull=never: FROM is the local base.
build_args=(--isolation chroot --network host --pull=never --layers -t "$IMAGE"
	-f tests/fresh/Containerfile --build-arg "FRESH_RUN=$(date +%s%N)" --build-arg "FRESH_TARGETS=$*")
echo "fresh-test: podman build ${build_args[*]} $ctx"
BUILD_T0=$(now)
: >"$WORK/steps"
set +e
podman build "${build_args[@]}" "$ctx" 2>&1 | tee "$LOG" | {
	step="" st=""
	while IFS= read -r line; do
		if [[ $line =~ ^STEP\ [0-9]+/[0-9]+: ]]; then
			t=$(now)
			[ -n "$step" ] && printf '%8s s  %s\n' "$(secs "$st" "$t")" "$step" >>"$WORK/steps"
			step=${line:0:100} st=$t
		fi
		printf '%s\n' "$line"
	done
	[ -n "$step" ] && printf '%8s s  %s\n' "$(secs "$st" "$(now)")" "$step" >>"$WORK/steps"
}
build_rc=${PIPESTATUS[0]}
set -e
BUILD_SECS=$(secs "$BUILD_T0" "$(now)")

# ---- summary ---------------------------------------------------------------------
echo
echo "fresh-test: podman build steps (cached ones take ~0 s; the last includes the commit):"
cat "$WORK/steps"
printf '%8s s  base image (deploy/base-image.sh)\n' "$BASE_SECS"
echo
if grep -q '^fresh| ' "$LOG"; then
	echo "fresh-test: the newcomer's steps on the bare machine:"
	grep '^fresh| ' "$LOG" | sed 's/^fresh| /    /'
fi
echo "fresh-test: total $(($(date +%s) - T0)) s (podman build $BUILD_SECS s); log: $LOG"
if [ "$build_rc" -ne 0 ]; then
	failed=$(awk '$1 == "fresh|" && $2 == "make" && $4 ~ /^FAILED/ { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$LOG")
	[ -n "$failed" ] || failed="the podman build, before the tests ended (exit $build_rc; see above)"
	die "$failed"
fi
echo "fresh-test: passed"
