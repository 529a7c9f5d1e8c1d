# segloss — one hand-written Makefile.
#
#   make            build the segloss CLI (and seglossd) into $(BUILD)
#   make test       every Check suite, /metrics through promtool, the OpenAPI contract test, and
#                   the store, runs and jobs suites and the contract test on PostgreSQL (check-pg)
#   make run        build and start seglossd on :8080 (ARGS="--port 9090" to pass flags)
#   make bench      run the core benchmarks (bench-http: seglossd under wrk)
#   make bench-compare   segloss beside NumPy/SciPy and a FastAPI peer -> docs/performance.md
#   make bench-store     recording and reading runs on SQLite and PostgreSQL (one daemon, three replicas)
#   make fuzz       fuzz every target with libFuzzer for FUZZ_SECONDS (60) each, or
#                   FUZZ_TOTAL_SECONDS shared among them (tests/fuzz/fuzz.mk)
#   make tsan, load-test, fault-test, replica-test, browser-test, deploy-test, image-test   CI's other steps
#   make fresh-test the README's make test and make run on a bare Debian 12 (podman)
#   make flake-test make contract and check_daemon FLAKE_RUNS (50) times under CPU load
#   make ui-test    the page in headless Chromium (tests/ui); make ui-assets: the page's files and sizes
#   make ref        regenerate the multi-class reference fixtures (NumPy ports + real PyTorch)
#   SANITIZE=address,undefined make test    the same under sanitizers
#   DEV=1           warnings are errors
#
# Missing Debian packages are installed by scripts/deps.sh, which make runs
# while generating $(BUILD)/config.mk (the pkg-config flags); every test
# target installs what else it runs (.ci/run runs them all).

.DEFAULT_GOAL := all
comma := ,

SANITIZE ?=
DEV ?= 0
ifeq ($(SANITIZE),)
BUILD ?= build/release
else
BUILD ?= build/$(subst $(comma),-,$(SANITIZE))
endif

CC ?= cc
OPT ?= -O2
CFLAGS ?= $(OPT) -g
LDFLAGS ?=

WARN = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition \
       -Wvla -Wshadow -Wpointer-arith -Wformat=2 -Wundef -Wwrite-strings \
       -Wno-unused-parameter
ifeq ($(DEV),1)
WARN += -Werror
endif

SEG_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) -Isrc -MMD -MP
SEG_LDFLAGS = $(LDFLAGS)
ifneq ($(SANITIZE),)
SEG_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SEG_LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifneq ($(findstring thread,$(SANITIZE)),)
SEG_CFLAGS += -DSEG_NO_CLONES
endif

# ---- configuration (dependency check + pkg-config) -------------------------
NOCONF_GOALS := clean distclean help fresh-test ref
ifeq ($(filter-out $(NOCONF_GOALS),$(MAKECMDGOALS))$(if $(MAKECMDGOALS),,all),)
else
include $(BUILD)/config.mk
endif

$(BUILD)/config.mk: scripts/deps.sh Makefile
	@scripts/deps.sh
	@mkdir -p $(@D)
	@{ \
	  echo "PNG_CFLAGS := $$(pkg-config --cflags libpng)"; \
	  echo "PNG_LIBS := $$(pkg-config --libs libpng)"; \
	  echo "CJSON_CFLAGS := $$(pkg-config --cflags libcjson)"; \
	  echo "CJSON_LIBS := $$(pkg-config --libs libcjson)"; \
	  echo "CHECK_CFLAGS := $$(pkg-config --cflags check)"; \
	  echo "CHECK_LIBS := $$(pkg-config --libs check)"; \
	  echo "ZLIB_LIBS := $$(pkg-config --libs zlib)"; \
	  echo "ZSTD_CFLAGS := $$(pkg-config --cflags libzstd)"; \
	  echo "ZSTD_LIBS := $$(pkg-config --libs libzstd)"; \
	  echo "DEFLATE_CFLAGS := $$(pkg-config --cflags libdeflate)"; \
	  echo "DEFLATE_LIBS := $$(pkg-config --libs libdeflate)"; \
	  echo "MHD_CFLAGS := $$(pkg-config --cflags libmicrohttpd)"; \
	  echo "MHD_LIBS := $$(pkg-config --libs libmicrohttpd)"; \
	  echo "SQLITE_CFLAGS := $$(pkg-config --cflags sqlite3)"; \
	  echo "SQLITE_LIBS := $$(pkg-config --libs sqlite3)"; \
	  echo "PQ_CFLAGS := $$(pkg-config --cflags libpq)"; \
	  echo "PQ_LIBS := $$(pkg-config --libs libpq)"; \
	} > $@.tmp && mv $@.tmp $@

# ---- sources ---------------------------------------------------------------
CORE_SRC  := $(wildcard src/core/*.c)
CODEC_SRC := $(wildcard src/codec/*.c)
WIRE_SRC  := $(wildcard src/wire/*.c)
# The daemon: service (request handling), pool, log, http (libmicrohttpd), and main.
DAEMON_SRC := $(wildcard src/service/*.c src/store/*.c src/pool/*.c src/log/*.c src/http/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

CORE_LIB  := $(BUILD)/libsegcore.a
CODEC_LIB := $(BUILD)/libsegcodec.a
WIRE_LIB  := $(BUILD)/libsegwire.a

SEGLOSS := $(BUILD)/segloss
SEGLOSSD := $(BUILD)/seglossd
DAEMON_LIB := $(BUILD)/libsegd.a

# Per-directory extra compile flags: only the codec sees libpng, only wire and the CLI see cJSON.
$(BUILD)/src/codec/%.o: EXTRA_CFLAGS = $(PNG_CFLAGS) $(DEFLATE_CFLAGS)
# Per-pixel kernels: vectorised loops calling glibc's vector math (see src/core/vmath.h).
VEC_CFLAGS = -ftree-vectorize -fopenmp-simd -fno-math-errno -fno-trapping-math
$(BUILD)/src/core/pixstats.o $(BUILD)/src/core/edt.o $(BUILD)/src/core/metric.o $(BUILD)/src/core/mcloss.o $(BUILD)/src/core/mclass.o $(BUILD)/src/core/wmap.o: EXTRA_CFLAGS = $(VEC_CFLAGS)
# Row unfiltering, level scaling, base64 and .npy conversions are loops that GCC vectorises only when asked.
$(BUILD)/src/codec/pngfast.o $(BUILD)/src/codec/b64.o $(BUILD)/src/codec/npy.o: EXTRA_CFLAGS = $(PNG_CFLAGS) $(DEFLATE_CFLAGS) $(VEC_CFLAGS)
$(BUILD)/src/wire/%.o: EXTRA_CFLAGS = $(CJSON_CFLAGS)
$(BUILD)/src/cli/%.o: EXTRA_CFLAGS = $(CJSON_CFLAGS)
# The CLI's summary of a map: min and max in vector lanes.
$(BUILD)/src/cli/segloss.o: EXTRA_CFLAGS = $(CJSON_CFLAGS) $(VEC_CFLAGS)
$(BUILD)/src/service/%.o: EXTRA_CFLAGS = $(CJSON_CFLAGS)
$(BUILD)/src/store/%.o: EXTRA_CFLAGS = $(SQLITE_CFLAGS) $(PQ_CFLAGS)
$(BUILD)/src/http/%.o: EXTRA_CFLAGS = $(MHD_CFLAGS) $(CJSON_CFLAGS) $(ZSTD_CFLAGS) $(DEFLATE_CFLAGS)
$(BUILD)/src/main/%.o: EXTRA_CFLAGS = $(MHD_CFLAGS) $(CJSON_CFLAGS)
$(BUILD)/tests/%.o: EXTRA_CFLAGS = $(CHECK_CFLAGS) $(CJSON_CFLAGS) $(PNG_CFLAGS) $(MHD_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS) $(ZSTD_CFLAGS) -Itests
$(BUILD)/bench/%.o: EXTRA_CFLAGS = $(PNG_CFLAGS)
$(BUILD)/bench/bench_mclass.o: EXTRA_CFLAGS = $(VEC_CFLAGS)

$(BUILD)/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(@D)
	$(CC) $(SEG_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

$(CORE_LIB): $(call obj,$(CORE_SRC))
$(CODEC_LIB): $(call obj,$(CODEC_SRC))
$(WIRE_LIB): $(call obj,$(WIRE_SRC))
$(DAEMON_LIB): $(call obj,$(DAEMON_SRC)) $(BUILD)/gen/openapi_data.o $(BUILD)/gen/ui_data.o
$(BUILD)/lib%.a:
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

APP_LIBS = $(WIRE_LIB) $(CODEC_LIB) $(CORE_LIB)
APP_LDLIBS = $(CJSON_LIBS) $(PNG_LIBS) $(DEFLATE_LIBS) $(ZLIB_LIBS) -lm

$(SEGLOSS): $(call obj,src/cli/segloss.c) $(DAEMON_LIB) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

# GET /v1/openapi.yaml serves the spec compiled in: api/openapi.yaml as a byte array.
$(BUILD)/gen/openapi_data.c: api/openapi.yaml
	@mkdir -p $(@D)
	@{ echo '#include <stddef.h>'; \
	   echo 'const unsigned char openapi_yaml[] = {'; \
	   od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00};'; \
	   echo "const size_t openapi_yaml_len = $$(wc -c < $<);"; } > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/openapi_data.o: $(BUILD)/gen/openapi_data.c
	$(CC) $(SEG_CFLAGS) -c $< -o $@

# GET / and /ui/{file} serve the files of ui/ compiled in (src/http/ui.h): each file's bytes, its
# gzip -9 form when that is smaller, and a strong ETag from its SHA-256. No npm: ui/ is the page.
UI_FILES := $(sort $(wildcard ui/*.html ui/*.css ui/*.js ui/*.svg ui/*.txt))
UI_BUDGET := 307200
c_bytes = od -An -v -tx1 $(1) | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
$(BUILD)/gen/ui_data.c: $(UI_FILES) Makefile
	@mkdir -p $(@D)/ui
	@{ echo '/* Generated by make from ui/; do not edit. */'; \
	   echo '#include "http/ui.h"'; \
	   : > $@.tab; i=0; \
	   for f in $(UI_FILES); do \
	     b=$$(basename $$f); gz=$(@D)/ui/$$b.gz; gzip -9 -n -c $$f > $$gz; \
	     n=$$(wc -c < $$f); g=$$(wc -c < $$gz); h=$$(sha256sum $$f | cut -c1-16); \
	     echo "static const unsigned char raw$$i[] = {"; $(call c_bytes,$$f); echo '0};'; \
	     if [ $$g -lt $$n ]; then \
	       echo "static const unsigned char gz$$i[] = {"; $(call c_bytes,$$gz); echo '0};'; gzref="gz$$i, $$g"; \
	     else gzref="NULL, 0"; fi; \
	     printf '\t{"%s", raw%d, %d, %s, "\\"%s\\"", "\\"%s-gz\\""},\n' $$b $$i $$n "$$gzref" $$h $$h >> $@.tab; \
	     i=$$((i + 1)); \
	   done; \
	   echo 'const ui_asset ui_assets[] = {'; cat $@.tab; printf '\t{0}};\n'; \
	   echo "const size_t ui_assets_count = $$i;"; } > $@.tmp && mv $@.tmp $@ && rm -f $@.tab
$(BUILD)/gen/ui_data.o: $(BUILD)/gen/ui_data.c src/http/ui.h
	$(CC) $(SEG_CFLAGS) -c $< -o $@

# make ui-assets: builds the page's table and prints each file's size, raw and gzipped; fails
# when the files together pass UI_BUDGET bytes (300 KiB). The page bundles no third-party file.
ui-assets: $(BUILD)/gen/ui_data.c
	@total=0; gztotal=0; printf '%-16s %8s %8s\n' file bytes gzip; \
	 for f in $(UI_FILES); do \
	   n=$$(wc -c < $$f); g=$$(wc -c < $(BUILD)/gen/ui/$$(basename $$f).gz); \
	   printf '%-16s %8d %8d\n' $$(basename $$f) $$n $$g; total=$$((total + n)); gztotal=$$((gztotal + g)); \
	 done; \
	 printf '%-16s %8d %8d   (budget %d bytes)\n' total $$total $$gztotal $(UI_BUDGET); \
	 [ $$total -le $(UI_BUDGET) ] || { echo "ui/ is over its budget of $(UI_BUDGET) bytes"; exit 1; }

DAEMON_LDLIBS = $(MHD_LIBS) $(SQLITE_LIBS) $(PQ_LIBS) $(ZSTD_LIBS) $(ZLIB_LIBS) -pthread

$(SEGLOSSD): $(call obj,src/main/seglossd.c) $(DAEMON_LIB) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

all: $(SEGLOSS) $(SEGLOSSD)

# ---- tests -----------------------------------------------------------------
# Core suites link the core and libm only, so a stray dependency fails to link.
CORE_TESTS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/check_core_*.c))
OTHER_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(filter-out tests/check_core_% tests/check_replicas.c,$(wildcard tests/check_*.c)))
# Several daemons on one PostgreSQL: make replica-test (CI), not make check.
REPLICA_TEST := $(BUILD)/tests/check_replicas
TEST_SUPPORT := $(call obj,tests/testutil.c tests/httpclient.c tests/testpng.c)
# A fresh PostgreSQL database per test (libpq): only the suites that link the daemon.
TEST_PG := $(call obj,tests/testpg.c)

$(CORE_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(CORE_LIB)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(CHECK_LIBS) -lm

$(OTHER_TESTS) $(REPLICA_TEST): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT) $(TEST_PG) $(DAEMON_LIB) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(DAEMON_LDLIBS) $(APP_LDLIBS)

TESTS := $(CORE_TESTS) $(OTHER_TESTS)

# make test: the Check suites, then the checks that need the daemon running, then the
# store, runs and jobs suites and the contract test again on a throwaway PostgreSQL.
test: check metrics-lint contract check-pg

# Each suite runs from the project root; SEGLOSS_BIN and SEGLOSSD_BIN let suites drive the programs.
check: $(TESTS) $(SEGLOSS) $(SEGLOSSD) fuzz-replay
	@set -e; for t in $(TESTS); do \
	  echo "== $$t"; SEGLOSS_BIN=$(SEGLOSS) SEGLOSSD_BIN=$(SEGLOSSD) $$t; \
	done
	@echo "all test suites passed ($(words $(TESTS)) suites)"

# /metrics after real traffic passes promtool (installs Debian's prometheus package when missing).
metrics-lint: $(SEGLOSSD)
	tests/scripts/metrics_lint.sh $(BUILD)

# The API spec lints (redocly) and live responses match its schemas (ajv), and binary requests are
# answered byte for byte as the first version answered them (golden.mjs); needs Node.js (installed when missing).
contract: $(SEGLOSSD) $(SEGLOSS)
	SEGLOSSD_BIN=$(SEGLOSSD) SEGLOSS_BIN=$(SEGLOSS) sh tests/contract/run.sh

# The store, runs and jobs suites and the run routes of check_http (their postgres cases) and the contract test on a PostgreSQL 15
# started for the purpose (Debian's postgresql-15, installed when missing; tests/scripts/pg.sh).
check-pg: $(BUILD)/tests/check_store $(BUILD)/tests/check_runs $(BUILD)/tests/check_mcruns $(BUILD)/tests/check_http $(SEGLOSS) $(SEGLOSSD)
	tests/scripts/pg.sh run tests/scripts/pg_suites.sh $(BUILD)

# ---- running the daemon ----------------------------------------------------
# make run: build and start seglossd in the foreground (SEGLOSS_* variables and ARGS pass through).
run: $(SEGLOSSD)
	exec $(SEGLOSSD) $(ARGS)

# ---- sanitizer runs (CI) -------------------------------------------------------
# make tsan: the pool, HTTP, store and daemon suites under ThreadSanitizer; any report fails.
TSAN_SUITES := check_pool check_http check_store check_daemon check_runs
tsan:
	$(MAKE) SANITIZE=thread tsan-run

tsan-run: $(addprefix $(BUILD)/tests/,$(TSAN_SUITES)) $(SEGLOSS) $(SEGLOSSD)
	@rm -rf $(BUILD)/tsan && mkdir -p $(BUILD)/tsan
	@failed=""; for t in $(TSAN_SUITES); do \
	  echo "== $$t (ThreadSanitizer)"; \
	  TSAN_OPTIONS="log_path=$(CURDIR)/$(BUILD)/tsan/report exitcode=66" \
	    SEGLOSS_BIN=$(SEGLOSS) SEGLOSSD_BIN=$(SEGLOSSD) $(BUILD)/tests/$$t || failed="$$failed $$t"; \
	done; \
	if ls $(BUILD)/tsan/report* >/dev/null 2>&1; then cat $(BUILD)/tsan/report*; echo "ThreadSanitizer reported races"; exit 1; fi; \
	if [ -n "$$failed" ]; then echo "failed under ThreadSanitizer:$$failed"; exit 1; fi
	@echo "ThreadSanitizer: no reports"

# ---- load and fault tests (CI) -----------------------------------------------
LOADGEN := $(BUILD)/tests/loadgen
$(LOADGEN): $(call obj,tests/load/loadgen.c) $(TEST_SUPPORT) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(APP_LDLIBS) -pthread

# 32 clients for $(LOAD_SECONDS) s of valid, invalid and hostile requests; SIGTERM and SIGKILL under load.
LOAD_SECONDS ?= 60
load-test: $(SEGLOSSD) $(LOADGEN)
	tests/scripts/load.sh $(BUILD) $(LOAD_SECONDS)

# Three replicas on one PostgreSQL: 8 clients and 1,000 items, 20 jobs with a replica SIGKILLed,
# PostgreSQL shut down and started again under load (tests/check_replicas.c; a throwaway server).
replica-test: $(REPLICA_TEST) $(SEGLOSSD)
	tests/scripts/pg.sh run env SEGLOSSD_BIN=$(SEGLOSSD) $(REPLICA_TEST)

# Store faults: a read-only file system and a full disk under the database, then recovery.
fault-test: $(SEGLOSSD)
	tests/scripts/store_faults.sh $(BUILD)

# A web page on another origin calls seglossd from headless Chromium (CORS, preflights, keys, ETags).
browser-test: $(SEGLOSSD) $(SEGLOSS)
	tests/browser/run.sh $(BUILD)

# The page seglossd serves, in Debian's headless Chromium (playwright-core and axe-core from npm):
# values equal the CLI's, overlay colours, a live run, comparisons, API keys, accessibility, screenshots.
ui-test: $(SEGLOSSD) $(SEGLOSS)
	tests/ui/run.sh $(BUILD)

# The container image: built with make test inside, then run and checked end to end (root, podman).
image-test:
	deploy/test-image.sh

# Kubernetes manifests render and validate, YAML lints, the dashboard queries only exported metrics.
deploy-test: $(SEGLOSSD)
	tests/deploy/validate-k8s.sh
	SEGLOSSD_BIN=$(SEGLOSSD) tests/deploy/validate-dashboard.sh

# ---- the newcomer's path ---------------------------------------------------------
# make fresh-test: on a bare Debian 12 (debootstrap minbase) with only make, the CA
# certificates and npm settings, the README's `make test` and `make run`, then every
# target in FRESH_TARGETS: the test targets that install their own packages.
FRESH_TARGETS = browser-test ui-test deploy-test
fresh-test:
	tests/fresh/run.sh $(FRESH_TARGETS)

# make flake-test (not in CI, about 20 minutes): make contract and the daemon suite
# FLAKE_RUNS times in a row beside stress-ng --cpu 2; failing logs in $(BUILD)/flake.
FLAKE_RUNS ?= 50
flake-test: $(SEGLOSS) $(SEGLOSSD) $(BUILD)/tests/check_daemon
	tests/scripts/flake.sh $(BUILD) $(FLAKE_RUNS)

# ---- benchmarks ------------------------------------------------------------
BENCH := $(BUILD)/bench/bench_core
$(BENCH): $(call obj,bench/bench_core.c) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(APP_LDLIBS)

# The SciPy side runs when Debian's python3-scipy is installed (make bench does not install it).
BENCH_DIR := $(BUILD)/bench-data
GEN_MASKS := $(BUILD)/bench/gen_masks
$(GEN_MASKS): $(call obj,bench/gen_masks.c) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(APP_LDLIBS)

# make bench-http: seglossd under wrk (installed from Debian when missing).
bench-http: $(SEGLOSSD) $(GEN_MASKS)
	@scripts/deps.sh wrk=wrk curl=curl
	bench/http_bench.sh $(BUILD) $(or $(SECONDS),10)

# make bench-store: recording throughput (SQLite, PostgreSQL with one daemon and with three
# replicas) and reads of a 100,000-item run on both, each checked against a recomputation.
STORE_BENCH := $(BUILD)/bench/store_bench
$(BUILD)/bench/store_bench.o: EXTRA_CFLAGS = $(CJSON_CFLAGS) -Itests
$(STORE_BENCH): $(call obj,bench/store_bench.c tests/httpclient.c) $(DAEMON_LIB) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

bench-store: $(SEGLOSSD) $(GEN_MASKS) $(STORE_BENCH)
	@scripts/deps.sh wrk=wrk
	bench/store_bench.sh $(BUILD) $(or $(SECONDS),10)

# make bench-compare: the core and the service beside NumPy/SciPy and a FastAPI peer, in one
# run (installs its Debian packages); checks agreement first, writes docs/performance.md.
COMPARE_DRIVER := $(BUILD)/bench/compare/driver
$(COMPARE_DRIVER): $(call obj,bench/compare/driver.c) $(DAEMON_LIB) $(APP_LIBS)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

bench-compare: $(SEGLOSSD) $(SEGLOSS) $(COMPARE_DRIVER) $(BUILD)/bench/bench_mclass
	bench/compare/run.sh $(BUILD)

BENCH_MCLASS := $(BUILD)/bench/bench_mclass
$(BENCH_MCLASS): $(call obj,bench/bench_mclass.c) $(DAEMON_LIB) $(CORE_LIB)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ -pthread -lm

bench: $(BENCH) $(BENCH_MCLASS)
	$(BENCH) --dir $(BENCH_DIR)
	$(BENCH_MCLASS) --dir $(BENCH_DIR)
	@if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then \
	  /usr/bin/python3 bench/py_mclass.py $(BENCH_DIR); \
	else echo "(python3-numpy not installed: no multi-class side-by-side figures)"; fi
	@if /usr/bin/python3 -c 'import scipy' 2>/dev/null; then \
	  /usr/bin/python3 bench/py_compare.py $(BENCH_DIR); \
	else echo "(python3-scipy not installed: no side-by-side figures)"; fi

# ---- reference fixtures --------------------------------------------------------
# make ref: the multi-class fixtures (tests/fixtures/multiclass) from the NumPy ports of each
# profile's library, then the values of the real PyTorch (installs Debian's packages when missing).
# make test reads the committed files and never needs Python.
REF_PY_MODULES := numpy=python3-numpy scipy=python3-scipy skimage=python3-skimage PIL=python3-pil \
                  sklearn=python3-sklearn torch=python3-torch
ref:
	tests/ref/pydeps.sh $(REF_PY_MODULES)
	/usr/bin/python3 tests/ref/gen_multiclass.py
	/usr/bin/python3 tests/ref/torch_ref.py

# ---- housekeeping ----------------------------------------------------------
clean:
	rm -rf build

help:
	@sed -n '2,21p' Makefile

.PHONY: all test check check-pg ui-assets ui-test metrics-lint contract tsan tsan-run load-test fault-test replica-test deploy-test browser-test image-test fresh-test flake-test bench bench-http bench-compare bench-store run ref clean help

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fuzzing: libFuzzer targets, their corpora and regressions (tests/fuzz) ----
include tests/fuzz/fuzz.mk
