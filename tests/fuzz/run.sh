#!/bin/sh
# run.sh — fuzz each target for a while on a working copy of its corpus.
#
#   tests/fuzz/run.sh BINDIR WORKDIR SECONDS TARGET...
#
# Run from the project root by `make fuzz`. For each target, the seed
# corpus (tests/fuzz/corpus/TARGET) and the regression inputs
# (tests/fuzz/regressions/TARGET) are copied into WORKDIR/corpus/TARGET,
# which libFuzzer then grows; the repository is never written. Crashes,
# leaks, timeouts and out-of-memory inputs land in WORKDIR/crashes/TARGET,
# libFuzzer's output in WORKDIR/logs/TARGET.log. Inputs are capped per
# target (-max_len) so each run stays fast. Every target runs even when an
# earlier one fails; the script then lists what was found, with the
# commands that reproduce it and keep it as a regression, and exits 1.
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 BINDIR WORKDIR SECONDS TARGET..." >&2
	exit 2
fi
bindir=$1
work=$2
seconds=$3
shift 3

# A stack for every sanitizer report; libFuzzer sets the rest.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS

max_len_of() {
	case $1 in
	fuzz_spec) echo 2048 ;;
	fuzz_b64) echo 8192 ;;
	fuzz_json_request | fuzz_multipart) echo 32768 ;;
	*) echo 16384 ;;
	esac
}

failed=""
for t in "$@"; do
	bin=$bindir/$t
	corpus=$work/corpus/$t
	crashes=$work/crashes/$t
	log=$work/logs/$t.log
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"

	rm -rf "$crashes"
	mkdir -p "$corpus" "$crashes" "$work/logs"
	for seeds in "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t"; do
		[ -d "$seeds" ] && find "$seeds" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$corpus/" \;
	done

	printf '== %s: %s s, -max_len=%s, %s seed files\n' "$t" "$seconds" "$(max_len_of "$t")" \
		"$(find "$corpus" -type f | wc -l)"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" -print_final_stats=1 $dict "$corpus" >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	printf '   %s runs (%s/s), %s, corpus now %s files\n' "${runs:-?}" "${speed:-?}" "${cov:-cov: ?}" \
		"$(find "$corpus" -type f | wc -l)"
	if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$crashes")" ]; then
		failed="$failed $t"
		echo "   FAILED (exit $rc); the report, from $log:"
		grep -E '^(==[0-9]+==|SUMMARY|    #[0-9]+ |.*invariant does not hold|.*runtime error)' "$log" |
			head -n 40 | sed 's/^/   | /'
	fi
done

if [ -n "$failed" ]; then
	echo
	echo "fuzzing found problems in:$failed"
	for t in $failed; do
		for f in "$work/crashes/$t"/*; do
			[ -f "$f" ] || continue
			echo "  $f"
			echo "    reproduce: $bindir/$t $f"
			echo "    keep:      mkdir -p tests/fuzz/regressions/$t &&" \
				"cp $f tests/fuzz/regressions/$t/"
		done
	done
	exit 1
fi
echo "fuzzing found nothing ($# targets, $seconds s each, $(($# * seconds)) s in all)"
