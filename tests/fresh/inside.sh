#!/bin/bash
# inside.sh — the newcomer's path, run on the bare machine of `make fresh-test`
# (the last step of tests/fresh/Containerfile, from the checkout's root).
#
#   bash tests/fresh/inside.sh [TARGET...]
#
# The README's two commands, as a newcomer types them: `make test`, then
# `make run` until GET /healthz answers 200, then SIGTERM to seglossd and
# `make run` must exit 0; then `make TARGET` for each test target that
# installs its own packages. Every step runs even when an earlier one
# failed. Ends with a table of the steps (status, wall time), each line
# starting "fresh| " so that tests/fresh/run.sh can repeat it, and exits 1
# when any step failed.
#
# Only what a minimal Debian 12 has is used here: bash, coreutils, mawk
# (the HTTP check is bash's /dev/tcp, not curl).
set -u

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

names=()
results=()
times=()
record() { # record NAME RESULT START
	names+=("$1")
	results+=("$2")
	times+=("$(secs "$3" "$(now)")")
	printf '\n==> fresh: %s: %s (%s s)\n' "$1" "$2" "${times[${#times[@]} - 1]}"
}

# taken PORT: something accepts connections on 127.0.0.1:PORT.
taken() {
	{ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	exec 3<&- 3>&-
}

# healthz PORT: GET /healthz on 127.0.0.1:PORT answers 200.
healthz() {
	local line=""
	{ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
	IFS= read -r -t 10 line <&3
	exec 3<&- 3>&-
	[[ $line == HTTP/1.?\ 200* ]]
}

# ---- 1. make test --------------------------------------------------------------
printf '\n==> fresh: make test\n'
t=$(now)
if make test; then record "make test" ok "$t"; else record "make test" "FAILED (exit $?)" "$t"; fi

# ---- 2. make run until /healthz answers, then SIGTERM ----------------------------
# seglossd listens on the README's :8080. The tests share the host's network
# here: should something already listen there, SEGLOSS_PORT=0 takes a free
# port (the command stays `make run`), read from seglossd's log.
step_run() {
	local log=/tmp/fresh-make-run.log port="" mpid pid="" rc deadline
	if taken 8080; then
		echo "something already listens on 127.0.0.1:8080: seglossd takes a free port (SEGLOSS_PORT=0)"
		export SEGLOSS_PORT=0
	fi
	make run >"$log" 2>&1 &
	mpid=$!
	# make builds first when make test did not get that far: a generous deadline.
	deadline=$(($(date +%s) + 900))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ -n "$port" ] || port=$(sed -n 's/.*seglossd listening.* port=\([0-9]*\).*/\1/p' "$log")
		[ -n "$port" ] && healthz "$port" && break
		kill -0 "$mpid" 2>/dev/null || break
		sleep 0.2
	done
	unset SEGLOSS_PORT
	if [ -z "$port" ] || ! healthz "$port"; then
		kill -TERM "$mpid" 2>/dev/null
		wait "$mpid"
		cat "$log"
		echo "make run: /healthz did not answer 200${port:+ on port $port}"
		return 1
	fi
	echo "make run: GET /healthz on 127.0.0.1:$port answered 200"
	# The recipe execs seglossd, so it is make's only child.
	pid=$(awk '{ print $1 }' "/proc/$mpid/task/$mpid/children" 2>/dev/null)
	if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != seglossd ]; then
		kill -TERM "$mpid" 2>/dev/null
		wait "$mpid"
		cat "$log"
		echo "make run: no seglossd process under make (pid $mpid)"
		return 1
	fi
	kill -TERM "$pid"
	rc=0
	wait "$mpid" || rc=$?
	cat "$log"
	if [ "$rc" -ne 0 ]; then
		echo "make run: exited $rc after SIGTERM to seglossd, not 0"
		return 1
	fi
	grep -q 'seglossd stopped' "$log" || { echo "make run: seglossd did not log its stop"; return 1; }
	echo "make run: seglossd drained on SIGTERM and make run exited 0"
}
printf '\n==> fresh: make run\n'
t=$(now)
if step_run; then record "make run" ok "$t"; else record "make run" FAILED "$t"; fi

# ---- 3. the other test targets that install their own packages --------------------
for target in "$@"; do
	printf '\n==> fresh: make %s\n' "$target"
	t=$(now)
	if make "$target"; then record "make $target" ok "$t"; else record "make $target" "FAILED (exit $?)" "$t"; fi
done

# ---- summary -----------------------------------------------------------------------
failed=0
echo
echo "fresh| step                      result            seconds"
for i in "${!names[@]}"; do
	printf 'fresh| %-25s %-15s %9s\n' "${names[i]}" "${results[i]}" "${times[i]}"
	[ "${results[i]}" = ok ] || failed=1
done
printf 'fresh| installed by the steps: node %s, npm %s, gcc %s\n' \
	"$(node --version 2>/dev/null || echo none)" "$(npm --version 2>/dev/null || echo none)" \
	"$(gcc -dumpfullversion 2>/dev/null || echo none)"
exit $failed
