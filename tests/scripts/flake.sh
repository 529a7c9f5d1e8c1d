#!/bin/sh
# flake.sh — `make flake-test`: the tests that start daemons, over and over
# on a loaded machine, to find the ones that fail only sometimes.
#
#   tests/scripts/flake.sh BUILD_DIR [RUNS]       (RUNS: 50)
#
# RUNS times in a row, beside `stress-ng --cpu 2` (installed from Debian
# when missing), each run: the contract test (`make contract`), then the
# daemon suite (BUILD_DIR/tests/check_daemon). Prints one line a run and the
# pass counts; the log of every failing run is kept in BUILD_DIR/flake/
# (passing ones are removed). Exits 1 if any run failed. Not part of CI: it
# takes about 20 minutes on 2 cores.
set -eu
build=${1:-build/release}
runs=${2:-50}
case $runs in '' | *[!0-9]*) echo "flake: RUNS must be a number, not '$runs'" >&2; exit 2 ;; esac

scripts/deps.sh stress-ng=stress-ng
logs=$build/flake
rm -rf "$logs"
mkdir -p "$logs"

# The contract test's npm packages, before the clock starts.
make --no-print-directory -s BUILD="$build" contract >"$logs/warm-up.log" 2>&1 ||
	{ cat "$logs/warm-up.log"; echo "flake: the first contract run failed, before any load (log above)"; exit 1; }
rm -f "$logs/warm-up.log"

# Two CPU hogs for as long as the runs take (bounded, should this script be killed).
stress-ng --cpu 2 --timeout 6h --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null || true; wait "$stress" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "flake: $runs runs of make contract and check_daemon beside stress-ng --cpu 2 (pid $stress) on $(nproc) cores"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# one NAME I COMMAND...: runs it with its output in $logs/NAME-I.log; prints
# "ok (S s)" or "FAILED (S s)"; keeps the log only when it failed.
one() {
	name=$1 i=$2
	shift 2
	log=$logs/$name-$i.log
	t=$(now)
	rc=0
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		rm -f "$log"
		echo "ok ($(secs "$t" "$(now)") s)"
	else
		echo "FAILED ($(secs "$t" "$(now)") s, exit $rc)"
	fi
}

contract_ok=0
daemon_ok=0
i=1
while [ "$i" -le "$runs" ]; do
	c=$(one contract "$i" make --no-print-directory -s BUILD="$build" contract)
	d=$(one check_daemon "$i" env SEGLOSS_BIN="$build/segloss" SEGLOSSD_BIN="$build/seglossd" "$build/tests/check_daemon")
	case $c in ok*) contract_ok=$((contract_ok + 1)) ;; esac
	case $d in ok*) daemon_ok=$((daemon_ok + 1)) ;; esac
	printf 'run %2d/%d: contract %s, check_daemon %s\n' "$i" "$runs" "$c" "$d"
	i=$((i + 1))
done

failed=$((2 * runs - contract_ok - daemon_ok))
echo
echo "flake: contract $contract_ok/$runs passed, check_daemon $daemon_ok/$runs passed (beside stress-ng --cpu 2)"
if [ "$failed" -gt 0 ]; then
	echo "flake: the failing runs' logs, and what failed in each:"
	for log in "$logs"/*.log; do
		echo "  $log"
		grep -E '^(FAIL |KNOWN |[0-9]+%: Checks)|:[EF]:' "$log" | head -n 8 | sed 's/^/    | /'
	done
fi
echo "flake: $((2 * runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
