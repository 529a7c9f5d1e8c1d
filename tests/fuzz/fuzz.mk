# tests/fuzz/fuzz.mk — fuzz targets, included by the Makefile after its own rules.
#
#   make fuzz-replay      replay tests/fuzz/corpus and tests/fuzz/regressions through every
#                         target, built with $(CC) and the usual flags (SANITIZE applies)
#   make fuzz             build the targets with clang and libFuzzer and fuzz each one for
#                         FUZZ_SECONDS (default 60) on a copy of its corpus; fails on a crash
#   make fuzz FUZZ_TARGETS="fuzz_png fuzz_npy" FUZZ_SECONDS=600   some targets, longer
#   make fuzz FUZZ_TOTAL_SECONDS=600   one budget shared by the targets (CI): each gets
#                         FUZZ_TOTAL_SECONDS / (number of FUZZ_TARGETS), at least 1 s
#   make fuzz-merge       add the inputs fuzzing found that reach new code to tests/fuzz/corpus
#
# The libFuzzer build is a second build of the whole project: every object
# is compiled by clang with -fsanitize=fuzzer-no-link,address,undefined into
# $(BUILD)/fuzz/clang (a recursive make with BUILD, CC and SANITIZE set), so
# no gcc object is mixed in; only the final link adds libFuzzer's main.
# Warnings are not errors there even with DEV=1: clang warns where gcc
# does not (-Wpass-failed on the SIMD loops), and DEV=1 is for gcc builds.
# Working corpora, crash artifacts and logs live under $(BUILD)/fuzz too
# (tests/fuzz/run.sh); the working corpora keep growing from run to run
# until that directory is removed. tests/fuzz/<target>.dict, when present,
# is the target's libFuzzer dictionary.

ifndef FUZZ_MK
FUZZ_MK := $(lastword $(MAKEFILE_LIST))
FUZZ_PARENT_MK := $(firstword $(MAKEFILE_LIST))

FUZZ_TARGETS ?= fuzz_png fuzz_png_diff fuzz_npy fuzz_mask fuzz_b64 fuzz_json_request fuzz_multipart fuzz_spec fuzz_coco fuzz_coco_poly fuzz_lsbrush fuzz_cvat fuzz_annot fuzz_bodyenc
FUZZ_SECONDS ?= 60
# A total budget, when given, decides each target's share whatever FUZZ_SECONDS says.
ifneq ($(FUZZ_TOTAL_SECONDS),)
ifneq ($(shell expr "$(FUZZ_TOTAL_SECONDS)" : '[0-9][0-9]*$$'),0)
override FUZZ_SECONDS := $(shell n=$$(($(FUZZ_TOTAL_SECONDS) / $(words $(FUZZ_TARGETS)))); [ $$n -ge 1 ] || n=1; echo $$n)
else
$(error FUZZ_TOTAL_SECONDS must be a number of seconds, not '$(FUZZ_TOTAL_SECONDS)')
endif
endif
FUZZ_CC ?= clang
FUZZ_SANITIZE := fuzzer-no-link,address,undefined

FUZZ_DIR = $(BUILD)/fuzz
FUZZ_BUILD = $(FUZZ_DIR)/clang
FUZZ_SUPPORT = $(call obj,tests/fuzz/fuzzutil.c)

# ---- replay: the corpus and the regressions as an ordinary test -------------
FUZZ_REPLAY = $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_TARGETS))

$(FUZZ_REPLAY): $(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/%.o $(call obj,tests/fuzz/replay.c) \
		$(FUZZ_SUPPORT) $(DAEMON_LIB) $(APP_LIBS)
	@mkdir -p $(@D)
	$(CC) $(SEG_LDFLAGS) -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  dirs=tests/fuzz/corpus/$$t; \
	  if [ -d tests/fuzz/regressions/$$t ]; then dirs="$$dirs tests/fuzz/regressions/$$t"; fi; \
	  $(BUILD)/fuzz-replay/$$t $$dirs; \
	done

# ---- libFuzzer ----------------------------------------------------------------
# Linked inside the recursive make, where BUILD is $(FUZZ_BUILD) and CC is clang.
FUZZ_BINS = $(addprefix $(BUILD)/fuzzers/,$(FUZZ_TARGETS))

$(FUZZ_BINS): $(BUILD)/fuzzers/%: $(BUILD)/tests/fuzz/%.o $(FUZZ_SUPPORT) $(DAEMON_LIB) $(APP_LIBS)
	@mkdir -p $(@D)
	$(CC) $(SEG_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(DAEMON_LDLIBS) $(APP_LDLIBS)

fuzz-targets: $(FUZZ_BINS)

# clang, and its libFuzzer runtime (a package Debian only recommends), installed when missing.
fuzz-build:
	@scripts/deps.sh $(FUZZ_CC)=clang
	@$(FUZZ_CC) -print-file-name=libclang_rt.fuzzer-$$(uname -m).a | grep -q / || \
	  scripts/deps.sh libclang_rt.fuzzer=libclang-rt-$$($(FUZZ_CC) -dumpversion | cut -d. -f1)-dev
	+@$(MAKE) --no-print-directory -f $(FUZZ_PARENT_MK) -f $(FUZZ_MK) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	  SANITIZE=$(FUZZ_SANITIZE) DEV=0 FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-targets

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_BUILD)/fuzzers $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Keeps the repository corpus small: only inputs that add coverage are copied in.
fuzz-merge: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  [ -d $(FUZZ_DIR)/corpus/$$t ] || continue; \
	  echo "== $$t"; \
	  $(FUZZ_BUILD)/fuzzers/$$t -merge=1 tests/fuzz/corpus/$$t $(FUZZ_DIR)/corpus/$$t 2>&1 | tail -n 1; \
	done

.PHONY: fuzz fuzz-build fuzz-targets fuzz-replay fuzz-merge
endif
