#!/bin/bash
# test-image.sh — build the seglossd container image with podman and check it
# end to end. Runs as root on Debian 12; needs no container registry.
#
#   deploy/test-image.sh
#
# 1. Base image: when no local debian:bookworm-slim exists, one is made with
#    debootstrap (minbase, slimmed like the official image) and imported
#    (deploy/base-image.sh, shared with `make fresh-test`).
# 2. Build: podman build of ./Dockerfile (its build stage runs `make test`).
# 3. Run: the image's entrypoint as the image's user, with `podman run`; where
#    podman cannot run containers here, from the mounted image with chroot.
# 4. Checks: healthcheck, /readyz, a real POST /v1/evaluate, a recorded run
#    item on /data, SIGTERM exits 0, healthcheck fails after; uid 10001, no
#    compiler in the image; the image size.
#
# Environment:
#   IMAGE=segloss:latest     tag to build and test
#   RUN_MODE=auto|podman|chroot   how to start the image (auto: podman, else chroot)
#   NO_CACHE=1               build without podman's layer cache
#   REBASE=1                 make the base image anew (deploy/base-image.sh)
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR   override the mirrors read from apt's sources
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-segloss:latest}
BASE=debian:bookworm-slim
RUN_MODE=${RUN_MODE:-auto}
UID_EXPECTED=10001
FIX=tests/fixtures/blobs_soft8
T0=$(date +%s)

say() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
	printf '\ntest-image: FAILED: %s\n' "$*" >&2
	exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "run as root (podman build, image mounts and debootstrap need it)"

# ---- scratch state and clean-up ------------------------------------------
WORK=$(mktemp -d /tmp/segloss-image.XXXXXX)
CTR=""        # podman container name (podman mode)
VOL=""        # podman volume name (podman mode)
PID=""        # seglossd's pid (chroot mode)
MNT=""        # mounted image root
BOUND=()      # mount points under $MNT to unmount (chroot mode)

cleanup() {
	local rc=$?
	set +e
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	[ -n "$CTR" ] && podman rm -f -t 0 "$CTR" >/dev/null 2>&1
	[ -n "$VOL" ] && podman volume rm -f "$VOL" >/dev/null 2>&1
	for ((i = ${#BOUND[@]} - 1; i >= 0; i--)); do
		umount "${BOUND[i]}" 2>/dev/null || umount -l "${BOUND[i]}" 2>/dev/null
	done
	[ -n "$MNT" ] && podman image unmount "$IMAGE" >/dev/null 2>&1
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- tools ----------------------------------------------------------------
# podman (buildah is built in) and debootstrap come with the base image
# (deploy/base-image.sh); runc as the second OCI runtime (crun refuses hybrid
# cgroup v1/v2 hosts), curl for the checks.
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]} (Debian packages)"
	export DEBIAN_FRONTEND=noninteractive
	lock=(-o DPkg::Lock::Timeout=600)
	apt-get install "${lock[@]}" -y -q "${need[@]}" >"$WORK/apt.log" 2>&1 ||
		{ apt-get update "${lock[@]}" -q >>"$WORK/apt.log" 2>&1 && apt-get install "${lock[@]}" -y -q "${need[@]}" >>"$WORK/apt.log" 2>&1; } ||
		{ cat "$WORK/apt.log" >&2; die "apt-get install ${need[*]} failed"; }
fi

# ---- 1. base image -----------------------------------------------------------
# A local debian:bookworm-slim: reused, or made with debootstrap (minbase).
say "base image $BASE"
deploy/base-image.sh "$BASE" || die "no base image $BASE"
echo "podman: $(podman --version)"
podman images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$BASE"

# ---- 2. build ----------------------------------------------------------------
# --isolation chroot: RUN steps without an OCI runtime (this host's rlimits and
#   hybrid cgroups stop crun), --network host: the build reaches Debian and npm,
# --pull=never: FROM resolves to the local base, never to a registry,
# --format docker: OCI image configs have no HEALTHCHECK; the docker one keeps it,
# --secret id=ca: the host's CA bundle for npm (TLS-inspecting proxies).
build_args=(--isolation chroot --network host --pull=never --format docker --layers -t "$IMAGE" -f Dockerfile)
[ "${NO_CACHE:-0}" = 1 ] && build_args+=(--no-cache)
# shellcheck disable=SC2054 # the comma belongs to --secret's value
[ -s /etc/ssl/certs/ca-certificates.crt ] && build_args+=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
say "podman build ${build_args[*]} ."
BUILD_T0=$(now)
: >"$WORK/steps"
set +e
podman build "${build_args[@]}" . 2>&1 | {
	step="" st=""
	while IFS= read -r line; do
		if [[ $line =~ ^(\[[0-9]+/[0-9]+\]\ )?STEP\ [0-9]+/[0-9]+: ]]; then
			t=$(now)
			[ -n "$step" ] && printf '%8s s  %s\n' "$(secs "$st" "$t")" "$step" >>"$WORK/steps"
			step=${line:0:110} st=$t
		fi
		printf '%s\n' "$line"
	done
	[ -n "$step" ] && printf '%8s s  %s\n' "$(secs "$st" "$(now)")" "$step" >>"$WORK/steps"
}
build_rc=${PIPESTATUS[0]}
set -e
BUILD_SECS=$(secs "$BUILD_T0" "$(now)")
echo
echo "build timings (per Dockerfile step; cached steps take ~0 s, the last one includes the final commit):"
cat "$WORK/steps"
echo "build total: $BUILD_SECS s"
[ "$build_rc" -eq 0 ] || die "podman build failed (exit $build_rc; the output above says where)"

# ---- image metadata ----------------------------------------------------------
say "image configuration"
inspect() { podman image inspect --format "$1" "$IMAGE"; }
user=$(inspect '{{.Config.User}}')
entry=$(inspect '{{json .Config.Entrypoint}}')
# shellcheck disable=SC2016 # $p, $v: Go-template variables
ports=$(inspect '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}')
ports=${ports% }
# shellcheck disable=SC2016
vols=$(inspect '{{range $v, $x := .Config.Volumes}}{{$v}} {{end}}')
vols=${vols% }
health=$(inspect '{{json .HealthCheck}}' 2>/dev/null || true)
mapfile -t IMAGE_ENV < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
echo "user=$user entrypoint=$entry ports=$ports volumes=$vols"
echo "healthcheck=$health"
printf 'env: %s\n' "${IMAGE_ENV[@]}"
[ "$user" = "$UID_EXPECTED:$UID_EXPECTED" ] || die "image USER is '$user', not $UID_EXPECTED:$UID_EXPECTED"
[ "$entry" = '["seglossd"]' ] || die "ENTRYPOINT is $entry, not [\"seglossd\"]"
[[ " $ports " == *" 8080/tcp "* ]] || die "port 8080 is not exposed ($ports)"
[[ " $vols " == *" /data "* ]] || die "/data is not a volume ($vols)"
[[ $health == *'"seglossd","--healthcheck"'* ]] || die "no HEALTHCHECK [seglossd --healthcheck] in the image ($health)"
printf '%s\n' "${IMAGE_ENV[@]}" | grep -qx 'SEGLOSS_DB=/data/segloss.db' || die "SEGLOSS_DB is not /data/segloss.db"
image_port=$(printf '%s\n' "${IMAGE_ENV[@]}" | sed -n 's/^SEGLOSS_PORT=//p')
image_port=${image_port:-8080}
ok "USER $user, ENTRYPOINT $entry, EXPOSE $ports, VOLUME $vols, HEALTHCHECK, SEGLOSS_DB"

# ---- image contents (mounted read-only) -------------------------------------
say "image contents"
MNT=$(podman image mount "$IMAGE") || die "podman image mount $IMAGE failed"
for b in seglossd segloss; do
	[ -x "$MNT/usr/local/bin/$b" ] || die "/usr/local/bin/$b missing from the image"
done
found=""
for c in gcc cc c89 c99 g++ c++ clang tcc as ld cpp make; do
	for d in usr/bin bin usr/local/bin; do
		[ -e "$MNT/$d/$c" ] && found="$found /$d/$c"
	done
done
[ -z "$found" ] || die "the runtime image has build tools:$found"
if grep -Eq '^Package: (gcc|gcc-12|cpp|binutils|libc6-dev|make)$' "$MNT/var/lib/dpkg/status"; then
	die "the runtime image has compiler packages installed"
fi
ok "no compiler, binutils, libc6-dev or make in the image"
ldd_out=$(chroot "$MNT" /usr/bin/ldd /usr/local/bin/seglossd /usr/local/bin/segloss 2>&1) ||
	die "ldd in the image failed: $ldd_out"
if grep -q 'not found' <<<"$ldd_out"; then
	die "shared libraries missing from the image: $(grep 'not found' <<<"$ldd_out" | tr -s ' \t\n' ' ')"
fi
ok "every shared library of seglossd and segloss is in the image ($(grep -c '=>' <<<"$ldd_out") resolved)"
data_owner=$(stat -c '%u:%g' "$MNT/data")
[ "$data_owner" = "$UID_EXPECTED:$UID_EXPECTED" ] || die "/data is owned by $data_owner, not $UID_EXPECTED"
ok "/data owned by $data_owner"
grep -q "^[^:]*:x:$UID_EXPECTED:$UID_EXPECTED:" "$MNT/etc/passwd" || die "no user $UID_EXPECTED in /etc/passwd"
ok "user $(grep ":x:$UID_EXPECTED:" "$MNT/etc/passwd" | cut -d: -f1) ($UID_EXPECTED) exists"
if [ "$RUN_MODE" != chroot ]; then
	podman image unmount "$IMAGE" >/dev/null
	MNT=""
fi

# ---- 3. start the entrypoint --------------------------------------------------
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
PORT=$(free_port) || die "no free loopback port"
LOG=$WORK/seglossd.log

# podman run as root, in this order: the defaults; then rlimits within this
# host's hard limits (podman asks for nofile=1048576 and nproc=4194304, and a
# sandboxed host may refuse to raise its limits that far); then runc as the OCI
# runtime (crun refuses hosts whose cgroup v2 hierarchy has controllers while
# cgroup v1 is mounted, "hybrid mode"). Each variant: GLOBAL_OPTS|RUN_OPTS.
hn=$(ulimit -Hn)
[ "$hn" = unlimited ] && hn=1048576
lim="--ulimit nofile=$hn:$hn --ulimit nproc=4096:4096"
variants=("|" "|$lim" "--runtime runc|$lim")
G=() R=()
desc() {
	local g=${1%%|*} r=${1#*|}
	echo "podman ${g:+$g }run${r:+ $r}"
}
if [ "$RUN_MODE" != chroot ]; then
	say "podman run: probing"
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2206
		g=(${v%%|*}) r=(${v#*|})
		if out=$(podman "${g[@]}" run --rm --no-healthcheck "${r[@]}" --entrypoint seglossd "$IMAGE" --version 2>&1); then
			G=("${g[@]}") R=("${r[@]}")
			echo "    $(desc "$v"): works ($out)"
			RUN_MODE=podman
			break
		fi
		if grep -q 'error while loading shared libraries' <<<"$out"; then
			die "the image's seglossd cannot start: $out"
		fi
		echo "    $(desc "$v"): refused: $(echo "$out" | tail -1)"
	done
	if [ "$RUN_MODE" != podman ]; then
		[ "$RUN_MODE" = auto ] || die "podman run does not work here (RUN_MODE=$RUN_MODE)"
		echo "    podman cannot run containers here: falling back to chroot into the mounted image"
		RUN_MODE=chroot
	fi
fi
pod() { podman "${G[@]}" "$@"; }

# in_image CMD...: run a command inside the image as its user, the way the
# entrypoint runs (podman exec, or chroot with the image's environment).
if [ "$RUN_MODE" = podman ]; then
	CTR=segloss-imagetest-$$
	VOL=segloss-imagetest-$$
	say "$(desc "${G[*]}|${R[*]}") -d -p 127.0.0.1:$PORT:$image_port -v $VOL:/data --read-only ... $IMAGE"
	pod volume create "$VOL" >/dev/null
	# As deploy/compose and deploy/k8s run it: read-only root, a tmpfs /tmp
	# for SQLite, no capabilities, no privilege gain.
	pod run -d --name "$CTR" "${R[@]}" -p "127.0.0.1:$PORT:$image_port" -v "$VOL:/data" \
		--read-only --tmpfs /tmp:mode=1777 --cap-drop ALL --security-opt no-new-privileges \
		"$IMAGE" >/dev/null 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; die "podman run of $IMAGE failed"; }
	if grep -q 'systemd connection' "$WORK/run.err"; then
		echo "    note: no systemd here, so podman schedules no periodic HEALTHCHECK; 'podman healthcheck run' runs it below"
	fi
	PID=""
	host_pid() { pod inspect --format '{{.State.Pid}}' "$CTR"; }
	ctr_logs() { pod logs "$CTR" 2>&1; }
	in_image() { pod exec "$CTR" "$@"; }
	# The image's HEALTHCHECK command, against the published port, in a fresh
	# container on the host network: works before and after the daemon exits.
	healthcheck() {
		pod run --rm --no-healthcheck "${R[@]}" --network host -e "SEGLOSS_PORT=$PORT" "$IMAGE" --healthcheck
	}
else
	say "chroot --userspec=$UID_EXPECTED:$UID_EXPECTED into the mounted image"
	[ -n "$MNT" ] || MNT=$(podman image mount "$IMAGE") || die "podman image mount $IMAGE failed"
	# /data: a fresh directory owned by the image's user, bound over the
	# image's /data (the image mount is read-only), as a volume would be.
	mkdir -p "$WORK/data" && chown "$UID_EXPECTED:$UID_EXPECTED" "$WORK/data" && chmod 0750 "$WORK/data"
	mount --bind "$WORK/data" "$MNT/data" || die "cannot bind a /data directory into the image"
	BOUND+=("$MNT/data")
	mount --bind /dev "$MNT/dev" || die "cannot bind /dev into the image"
	BOUND+=("$MNT/dev")
	mount -t proc proc "$MNT/proc" || die "cannot mount /proc in the image"
	BOUND+=("$MNT/proc")
	mount -t tmpfs -o mode=1777 tmpfs "$MNT/tmp" || die "cannot mount /tmp in the image"
	BOUND+=("$MNT/tmp")
	# The image's environment, its port replaced by a free loopback one
	# (no network namespace here, so nothing else may listen on 8080).
	run_env=()
	for e in "${IMAGE_ENV[@]}"; do
		case $e in SEGLOSS_PORT=* | SEGLOSS_BIND=*) ;; *) run_env+=("$e") ;; esac
	done
	run_env+=("SEGLOSS_PORT=$PORT" "SEGLOSS_BIND=127.0.0.1")
	workdir=$(inspect '{{.Config.WorkingDir}}')
	# In the image's WORKDIR, then exec: the command keeps the shell's pid.
	# shellcheck disable=SC2016 # expanded by the sh inside the image
	cd_exec='cd "$1" && shift && exec "$@"'
	in_image() {
		env -i "${run_env[@]}" chroot --userspec="$UID_EXPECTED:$UID_EXPECTED" "$MNT" \
			sh -c "$cd_exec" sh "${workdir:-/}" "$@"
	}
	env -i "${run_env[@]}" chroot --userspec="$UID_EXPECTED:$UID_EXPECTED" "$MNT" \
		sh -c "$cd_exec" sh "${workdir:-/}" /usr/local/bin/seglossd >"$LOG" 2>&1 &
	PID=$!
	host_pid() { echo "$PID"; }
	ctr_logs() { cat "$LOG"; }
	healthcheck() { in_image seglossd --healthcheck; }
fi

base_url="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
	curl -fs -o /dev/null "$base_url/healthz" && break
	if [ "$RUN_MODE" = chroot ]; then
		kill -0 "$PID" 2>/dev/null || break
	else
		[ "$(pod inspect --format '{{.State.Running}}' "$CTR")" = true ] || break
	fi
	sleep 0.1
done
curl -fs -o /dev/null "$base_url/healthz" || {
	ctr_logs >&2
	die "seglossd did not answer /healthz on $base_url (log above)"
}
ok "seglossd answers on $base_url ($RUN_MODE)"

# ---- 4. checks ---------------------------------------------------------------
say "checks"
hp=$(host_pid)
proc_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$hp/status")
[ "$proc_uid" = "$UID_EXPECTED" ] || die "the entrypoint runs as uid $proc_uid, not $UID_EXPECTED"
proc_comm=$(cat "/proc/$hp/comm")
[ "$proc_comm" = seglossd ] || die "the entrypoint process is '$proc_comm', not seglossd"
ok "entrypoint process $hp is seglossd, uid $proc_uid (not root)"
in_uid=$(in_image id -u) || die "cannot run id inside the image"
[ "$in_uid" = "$UID_EXPECTED" ] || die "commands inside the image run as uid $in_uid"
ok "inside the image: id -u = $in_uid"
if [ "$RUN_MODE" = podman ]; then
	[ "$(in_image cat /proc/1/comm)" = seglossd ] || die "seglossd is not PID 1 in the container"
	ok "seglossd is PID 1 in the container"
fi

healthcheck >"$WORK/hc.out" 2>&1 || { cat "$WORK/hc.out" >&2; die "seglossd --healthcheck failed while the daemon runs"; }
ok "seglossd --healthcheck exits 0 ($(tr -d '\n' <"$WORK/hc.out"))"
if [ "$RUN_MODE" = podman ]; then
	pod healthcheck run "$CTR" >"$WORK/hc2.out" 2>&1 &&
		ok "podman healthcheck run (the image's HEALTHCHECK): healthy" ||
		echo "    note: podman healthcheck run unavailable here: $(tail -1 "$WORK/hc2.out")"
fi

code=$(curl -s -o "$WORK/readyz" -w '%{http_code}' "$base_url/readyz")
[ "$code" = 200 ] || die "GET /readyz answered $code: $(cat "$WORK/readyz")"
ok "GET /readyz 200"

code=$(curl -s -o "$WORK/eval.json" -w '%{http_code}' \
	-F "target=@$FIX/target.png" -F "prediction=@$FIX/prediction.png" \
	-F losses=bce,dice -F metrics=iou "$base_url/v1/evaluate")
[ "$code" = 200 ] || die "POST /v1/evaluate answered $code: $(cat "$WORK/eval.json")"
if ! grep -Eq '"bce":[ ]*[0-9]' "$WORK/eval.json" || ! grep -Eq '"iou":[ ]*[0-9]' "$WORK/eval.json"; then
	die "POST /v1/evaluate: no numbers in $(cat "$WORK/eval.json")"
fi
ok "POST /v1/evaluate 200: $(grep -o '"losses":{[^}]*}' "$WORK/eval.json") $(grep -o '"metrics":{[^}]*}' "$WORK/eval.json")"

code=$(curl -s -o "$WORK/rec.json" -w '%{http_code}' \
	-F "target=@$FIX/target.png" -F "prediction=@$FIX/prediction.png" \
	-F run=image-test -F item=blobs_soft8 "$base_url/v1/evaluate")
[ "$code" = 200 ] || die "recording a run item answered $code: $(cat "$WORK/rec.json")"
code=$(curl -s -o "$WORK/items.json" -w '%{http_code}' "$base_url/v1/runs/image-test/items")
if [ "$code" != 200 ] || ! grep -q '"blobs_soft8"' "$WORK/items.json"; then
	die "GET /v1/runs/image-test/items answered $code: $(cat "$WORK/items.json")"
fi
db=$(in_image stat -c '%u %s %n' /data/segloss.db) || die "/data/segloss.db was not written"
[ "${db%% *}" = "$UID_EXPECTED" ] || die "/data/segloss.db is owned by uid ${db%% *}"
ok "run item recorded and listed; /data/segloss.db: uid ${db%% *}, ${db#* }"

say "SIGTERM to the entrypoint"
if [ "$RUN_MODE" = podman ]; then
	pod kill --signal TERM "$CTR" >/dev/null
	rc=$(timeout 60 podman wait "$CTR") || die "the container did not stop within 60 s of SIGTERM"
else
	kill -TERM "$PID"
	rc=0
	timeout 60 tail --pid="$PID" -f /dev/null || die "seglossd did not stop within 60 s of SIGTERM"
	wait "$PID" || rc=$?
	PID=""
fi
ctr_logs >"$WORK/final.log" 2>&1 || true
grep -v 'level=error msg="unable to get systemd' "$WORK/final.log" | tail -3 | sed 's/^/    log: /'
[ "$rc" = 0 ] || die "seglossd exited $rc after SIGTERM, not 0"
grep -q 'SIGTERM received' "$WORK/final.log" || die "seglossd did not log the SIGTERM"
ok "seglossd drained and exited 0"
if healthcheck >"$WORK/hc.out" 2>&1; then
	die "seglossd --healthcheck still exits 0 after the daemon stopped"
else
	hc_rc=$?
fi
[ "$hc_rc" = 1 ] || { cat "$WORK/hc.out" >&2; die "seglossd --healthcheck exited $hc_rc after the stop, not 1"; }
ok "seglossd --healthcheck now exits 1 ($(tr -d '\n' <"$WORK/hc.out"))"

# ---- summary -----------------------------------------------------------------
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' "$BASE")
say "image $IMAGE passed"
printf '    image size:  %s MB (base %s: %s MB)\n' "$((size / 1000000))" "$BASE" "$((base_size / 1000000))"
printf '    build time:  %s s\n' "$BUILD_SECS"
if [ "$RUN_MODE" = podman ]; then
	printf '    run mode:    podman %s run %s\n' "${G[*]}" "${R[*]}"
else
	printf '    run mode:    chroot --userspec=%s into the mounted image\n' "$UID_EXPECTED:$UID_EXPECTED"
fi
printf '    total time:  %s s\n' "$(($(date +%s) - T0))"
