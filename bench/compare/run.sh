#!/bin/sh
# run.sh — `make bench-compare`: segloss side by side with NumPy/SciPy and
# a FastAPI peer service, on this machine, in one run; writes
# docs/performance.md.
#
#   bench/compare/run.sh [BUILD_DIR]        (default build/release)
#
# Installs the Debian packages it needs when they are missing (as root,
# --no-install-recommends), builds seglossd and bench/compare/driver.c
# (on the core and codec libraries) with make, and runs
# bench/compare/compare.py (see its header for what is compared and the
# COMPARE_* environment knobs). Everything it writes goes to
# BUILD_DIR/bench-compare/, docs/performance.md and the run's goals to
# bench/compare/history.json. Takes about 20-25 minutes on 2 cores; exits
# non-zero, leaving docs/performance.md as it was, when segloss and the
# Python code disagree on any number.
set -eu

cd "$(dirname "$0")/../.."
build=${1:-build/release}
work="$build/bench-compare"
py=/usr/bin/python3

# ---- Debian packages ---------------------------------------------------------
missing=""
[ -x "$py" ] || missing="$missing python3"
for pair in numpy:python3-numpy scipy:python3-scipy skimage:python3-skimage PIL:python3-pil \
	fastapi:python3-fastapi uvicorn:python3-uvicorn multipart:python3-multipart \
	uvloop:python3-uvloop httptools:python3-httptools torch:python3-torch; do
	mod=${pair%%:*}
	pkg=${pair#*:}
	[ -x "$py" ] && "$py" -c "import $mod" 2>/dev/null || missing="$missing $pkg"
done
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v zstd >/dev/null 2>&1 || missing="$missing zstd"
if [ -n "$missing" ]; then
	echo "bench-compare: installing missing Debian packages:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench-compare: not root; install them with: sudo apt-get install --no-install-recommends$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing ||
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
fi

# ---- build -----------------------------------------------------------------
echo "bench-compare: building seglossd, segloss, bench_mclass and the driver (bench/compare/driver.c) in $build"
make -s BUILD="$build" "$build/seglossd" "$build/segloss" "$build/bench/compare/driver" "$build/bench/bench_mclass"
mkdir -p "$work"

# ---- compare ---------------------------------------------------------------
# One thread for every numerical library on the Python side.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
exec "$py" bench/compare/compare.py "$build" "$work" docs/performance.md
