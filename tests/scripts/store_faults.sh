#!/bin/sh
# store_faults.sh — the store's disk fills up, then goes read-only, mid-run.
#
#   tests/scripts/store_faults.sh BUILD_DIR
#
# The database lives on a small tmpfs and the daemon runs as an
# unprivileged user (root writes to read-only files regardless, as
# containers never should run it). While a fault lasts, requests that
# record answer 503 naming the cause and are counted in
# segloss_store_write_errors_total; requests that record nothing still
# answer 200. When the fault is gone, recording resumes, and SQLite's
# integrity check passes. Needs root (mount, setpriv); installs Debian's
# sqlite3 and curl when missing.
set -eu
build=${1:-build/release}
here=$(dirname "$0")
. "$here/daemon.sh"
scripts/deps.sh sqlite3=sqlite3 curl=curl setpriv=util-linux
tmp=$(mktemp -d)
chmod 0755 "$tmp"
mnt="$tmp/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=4m,uid=65534,gid=65534 tmpfs "$mnt"
cleanup() {
	kill "$DAEMON_PID" 2>/dev/null || true
	sleep 0.2
	umount "$mnt" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

DAEMON_AS=65534:65534 daemon_start "$build/seglossd" --db "$mnt/segloss.db" --workers 2
base="http://127.0.0.1:$DAEMON_PORT"
f=tests/fixtures/blobs_soft8
n=0
post() { # post ITEM [run]: prints the HTTP status; the body goes to $tmp/out
	n=$((n + 1))
	if [ -n "${2:-}" ]; then
		curl -s -o "$tmp/out" -w '%{http_code}' -F target=@$f/target.png -F prediction=@$f/prediction.png \
			-F losses=bce,dice -F run="$2" -F item="$1" "$base/v1/evaluate"
	else
		curl -s -o "$tmp/out" -w '%{http_code}' -F target=@$f/target.png -F prediction=@$f/prediction.png \
			-F losses=bce,dice "$base/v1/evaluate"
	fi
}
expect() { # expect STATUS GOT WHAT
	[ "$2" = "$1" ] || { echo "store_faults: $3: got $2, wanted $1: $(cat "$tmp/out")"; exit 1; }
}
errors() { curl -s "$base/metrics" | sed -n 's/^segloss_store_write_errors_total \([0-9]*\)/\1/p'; }

for i in 1 2 3 4 5; do expect 200 "$(post "before-$i" faults)" "recording before the fault"; done

echo "== disk full"
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
full=0
for i in $(seq 200); do
	s=$(post "full-$i" faults)
	if [ "$s" = 503 ]; then full=1; break; fi
	expect 200 "$s" "recording while the disk fills"
done
[ $full = 1 ] || { echo "store_faults: the full disk never showed"; exit 1; }
grep -q '"detail":"store: database or disk is full"' "$tmp/out" || { echo "unexpected detail: $(cat "$tmp/out")"; exit 1; }
echo "recording: 503 $(sed 's/.*"detail":"\([^"]*\)".*/\1/' "$tmp/out")"
expect 200 "$(post plain)" "an evaluation that records nothing, disk full"
expect 200 "$(curl -s -o "$tmp/out" -w '%{http_code}' "$base/v1/runs/faults")" "reading a run, disk full"
e1=$(errors)
[ "$e1" -ge 1 ] || { echo "store_faults: write errors not counted"; exit 1; }
echo "segloss_store_write_errors_total $e1"
rm -f "$mnt/filler"
expect 200 "$(post after-full faults)" "recording after space came back"
echo "recording resumed after the disk was freed"

echo "== read-only database file"
chmod 0444 "$mnt/segloss.db"
s=$(post ro-1 faults)
expect 503 "$s" "recording into a read-only file"
echo "recording: 503 $(sed 's/.*"detail":"\([^"]*\)".*/\1/' "$tmp/out")"
expect 200 "$(post plain)" "an evaluation that records nothing, read-only"
e2=$(errors)
[ "$e2" -gt "$e1" ] || { echo "store_faults: read-only write errors not counted"; exit 1; }
chmod 0644 "$mnt/segloss.db"
expect 200 "$(post after-ro faults)" "recording after the file was writable again"
echo "recording resumed after the file was writable again"

count=$(curl -s "$base/v1/runs/faults" | sed -n 's/^{"name":"faults","count":\([0-9]*\),.*/\1/p')
echo "run 'faults' holds $count items"
daemon_stop TERM
check=$(sqlite3 "$mnt/segloss.db" 'PRAGMA integrity_check;')
[ "$check" = ok ] || { echo "store_faults: integrity_check: $check"; exit 1; }
stored=$(sqlite3 "$mnt/segloss.db" "SELECT COUNT(*) FROM items JOIN runs ON runs.id = items.run_id WHERE runs.name = 'faults';")
[ "$stored" = "$count" ] || { echo "store_faults: $stored items on disk, $count served"; exit 1; }
echo "PRAGMA integrity_check: ok; $stored items on disk"
