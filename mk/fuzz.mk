# Fuzz targets (tests/fuzz/, see tests/fuzz/README.md), included by the
# Makefile.
#   make fuzz            libFuzzer + ASan/UBSan build in $(FUZZ_BUILD), runs
#                        every target FUZZ_SECONDS; crashers are written to
#                        tests/fuzz/regression/<target>/ (make -k fuzz keeps
#                        going after a crash)
#   make fuzz-json       one target (also fuzz-normalize, ...)
#   make fuzz-replay     builds the targets without libFuzzer (same CC and
#                        flags as the rest of $(BUILD)) and replays the seed
#                        corpora and the regressions; `check` depends on it,
#                        so `make test` replays plain and under ASan+UBSan.

FUZZ_TARGETS ?= json normalize sessions init gradcheck oracle npy npz
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 65536
FUZZ_DICT    ?= tests/fuzz/gradguard.dict
FUZZ_CORPUS  ?= tests/fuzz/corpus
FUZZ_REGRESSION ?= tests/fuzz/regression
# Extra libFuzzer flags, e.g. FUZZ_ARGS="-jobs=2 -workers=2" or -dict=...
FUZZ_ARGS    ?=
FUZZ_OPTS     = -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 \
	-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	$(if $(FUZZ_DICT),-dict=$(FUZZ_DICT)) $(FUZZ_ARGS)

FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS  = $(BASE_CFLAGS) $(WARN) -O1 -g $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link $(PKG_CFLAGS) $(CFLAGS)

FUZZ_COMMON  := tests/fuzz/fuzz_common.c
FUZZ_LIB_OBJ  = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC))
FUZZ_BIN      = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_REPLAY_BIN = $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-replay-build $(FUZZ_TARGETS:%=fuzz-%)

# ---- libFuzzer build (clang only) -------------------------------------------

fuzz-build: $(FUZZ_BIN)

# One target after the other (unless make -j): the runs share the cores.
fuzz: $(FUZZ_TARGETS:%=fuzz-%)

# New inputs go to $(FUZZ_BUILD)/corpus/<t> (first directory, not kept in
# git); tests/fuzz/corpus/<t> only seeds. Crashers -> regression/<t>/.
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_REGRESSION)/$*
	$< $(FUZZ_OPTS) -artifact_prefix=$(FUZZ_REGRESSION)/$*/ \
		$(FUZZ_BUILD)/corpus/$* $(FUZZ_CORPUS)/$*

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libgradguard.a: $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BIN): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o \
		$(FUZZ_BUILD)/obj/$(FUZZ_COMMON:.c=.o) $(FUZZ_BUILD)/libgradguard.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(LIBS)

# ---- replay build (any CC; part of `make check`) ------------------------------

check: fuzz-replay

fuzz-replay-build: $(FUZZ_REPLAY_BIN)

# Every target replays its seeds and its regressions; one failing file fails
# the run (and `make check`). The replay driver names the file it crashed on.
fuzz-replay: $(FUZZ_REPLAY_BIN)
	@export ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"; \
	export UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"; \
	failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  $(BUILD)/fuzz-replay/fuzz_$$t $(FUZZ_CORPUS)/$$t \
	    $(FUZZ_REGRESSION)/$$t || failed="$$failed fuzz_$$t"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz replay ($(BUILD)) failed:$$failed"; exit 1; fi; \
	echo "fuzz replay ($(BUILD)): all targets passed"

$(FUZZ_REPLAY_BIN): $(BUILD)/fuzz-replay/fuzz_%: \
		$(BUILD)/obj/tests/fuzz/fuzz_%.o \
		$(BUILD)/obj/$(FUZZ_COMMON:.c=.o) \
		$(BUILD)/obj/tests/fuzz/replay.o $(BUILD)/libgradguard.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
