# Robustness runs (issue "Proven robust"), included by the Makefile.
#   make check-tsan  ThreadSanitizer build in $(TSAN_BUILD) of the tests that
#                    run threads (worker queue, 8 threads merging into the
#                    store, the threaded gradient-check engine), plus the
#                    daemon built with TSan driven by the 8-client
#                    integration test and by clients that hang up while a
#                    worker computes their answer (tests/http/
#                    test_slow_clients.c). Fails on a failing test or on any
#                    TSan report, in a test's output or in a daemon log
#                    ($(TSAN_BUILD)/logs/, written by tests/lib/harness.c).
#   make valgrind    core and handler tests (not http) under memcheck with
#                    CK_FORK=no, built in $(VALGRIND_BUILD). Slow; not part
#                    of `make test`.

TSAN_BUILD   ?= build/tsan
TSAN_TESTS   ?= tests/handlers/test_workers tests/handlers/test_store \
	tests/core/test_gradcheck
TSAN_HTTP    ?= tests/http/test_normalize_http tests/http/test_slow_clients \
	tests/http/test_memory_budget
TSAN_RUNOPTS ?= halt_on_error=1 second_deadlock_stack=1

VALGRIND       ?= valgrind
VALGRIND_FLAGS ?= --leak-check=full --error-exitcode=1 --quiet
VALGRIND_BUILD ?= build/valgrind
VALGRIND_TESTS ?= $(basename $(sort $(wildcard tests/core/test_*.c \
	tests/handlers/test_*.c)))
# Tests run one Check TCase at a time (CK_RUN_CASE), as test:case,case...;
# TCases not named do not run under valgrind. test_stats' "accuracy" is
# left out: it compares with a long double two-pass reference, and
# valgrind computes x87 long double in 64-bit precision, so that reference
# is off under valgrind only.
VALGRIND_CASES ?= tests/core/test_stats:core,identities,missing,errors,overflow

.PHONY: check-tsan check-tsan-build valgrind valgrind-build

# A sub-make, so that the sanitizer flags reach every object of the build.
check-tsan-build:
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) SANITIZE=thread \
		OPT="-O1 -g" $(TSAN_BUILD)/gradguard \
		$(addprefix $(TSAN_BUILD)/,$(TSAN_TESTS) $(TSAN_HTTP))

# One log per test in $(TSAN_BUILD)/logs/tsan-*.log; the daemon logs of the
# previous run are removed first so that an old report cannot fail this one.
check-tsan: check-tsan-build
	@mkdir -p $(TSAN_BUILD)/logs; rm -f $(TSAN_BUILD)/logs/server-*.log; \
	export TSAN_OPTIONS="$(TSAN_RUNOPTS)" BUILD=$(TSAN_BUILD) \
	  GRADGUARD_BIN=$(TSAN_BUILD)/gradguard GG_FIXTURES=tests/fixtures \
	  CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-120}; \
	unset GG_RECORD_DIR; \
	failed=""; \
	for t in $(TSAN_TESTS) $(TSAN_HTTP); do \
	  log=$(TSAN_BUILD)/logs/tsan-$$(basename $$t).log; \
	  echo "== $(TSAN_BUILD)/$$t"; \
	  $(TSAN_BUILD)/$$t >$$log 2>&1; rc=$$?; cat $$log; \
	  if [ $$rc -ne 0 ] || grep -q 'WARNING: ThreadSanitizer' $$log; then \
	    failed="$$failed $$t"; fi; \
	done; \
	races=$$(grep -l 'WARNING: ThreadSanitizer' \
	  $(TSAN_BUILD)/logs/server-*.log 2>/dev/null); \
	for f in $$races; do \
	  echo "== ThreadSanitizer report from the daemon, $$f:"; cat $$f; \
	  failed="$$failed $$f"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "check-tsan ($(TSAN_BUILD)) failed:$$failed"; exit 1; fi; \
	echo "check-tsan ($(TSAN_BUILD)): all passed, no ThreadSanitizer report"

valgrind-build:
	@$(MAKE) --no-print-directory BUILD=$(VALGRIND_BUILD) SANITIZE= \
		OPT="-O1 -g" $(addprefix $(VALGRIND_BUILD)/,$(VALGRIND_TESTS))

# CK_FORK=no: every test runs in the one process valgrind watches (with
# forking, the leak check of each child is lost among exits).
valgrind: valgrind-build
	@export CK_FORK=no GG_FIXTURES=tests/fixtures BUILD=$(VALGRIND_BUILD) \
	  CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-600}; \
	unset GG_RECORD_DIR CK_RUN_CASE; \
	failed=""; \
	for t in $(VALGRIND_TESTS); do \
	  cases=""; \
	  for e in $(VALGRIND_CASES); do \
	    case "$$e" in "$$t":*) cases=$$(echo "$${e#*:}" | tr , ' ');; esac; \
	  done; \
	  for c in $${cases:-all}; do \
	    echo "== valgrind $(VALGRIND_BUILD)/$$t $${cases:+(TCase $$c)}"; \
	    if [ "$$c" = all ]; then \
	      $(VALGRIND) $(VALGRIND_FLAGS) $(VALGRIND_BUILD)/$$t; \
	    else \
	      CK_RUN_CASE=$$c $(VALGRIND) $(VALGRIND_FLAGS) $(VALGRIND_BUILD)/$$t; \
	    fi || failed="$$failed $$t$${cases:+:$$c}"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "valgrind ($(VALGRIND_BUILD)) failed:$$failed"; exit 1; fi; \
	echo "valgrind ($(VALGRIND_BUILD)): all passed, no error, no leak"
