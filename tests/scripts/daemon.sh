# daemon.sh — shared by the test scripts: start seglossd on a free loopback
# port and stop it. Source it, then:  daemon_start BIN [flags...]; ... ; daemon_stop
# Sets DAEMON_PID, DAEMON_PORT, DAEMON_LOG. DAEMON_AS=UID:GID runs it as that user.

daemon_start() {
	bin=$1
	shift
	DAEMON_LOG=$(mktemp)
	if [ -n "${DAEMON_AS:-}" ]; then
		setpriv --reuid="${DAEMON_AS%%:*}" --regid="${DAEMON_AS#*:}" --clear-groups \
			"$bin" --bind 127.0.0.1 --port 0 "$@" 2>"$DAEMON_LOG" &
	else
		"$bin" --bind 127.0.0.1 --port 0 "$@" 2>"$DAEMON_LOG" &
	fi
	DAEMON_PID=$!
	DAEMON_PORT=""
	for _ in $(seq 200); do
		DAEMON_PORT=$(sed -n 's/.*seglossd listening.* port=\([0-9]*\).*/\1/p' "$DAEMON_LOG")
		[ -n "$DAEMON_PORT" ] && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "seglossd did not start:" >&2
	cat "$DAEMON_LOG" >&2
	return 1
}

# daemon_stop [SIGNAL]: stops the daemon and returns its exit status.
daemon_stop() {
	kill "-${1:-TERM}" "$DAEMON_PID" 2>/dev/null || true
	status=0
	wait "$DAEMON_PID" || status=$?
	rm -f "$DAEMON_LOG"
	return $status
}
