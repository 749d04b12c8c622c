# Responses validated against the OpenAPI document (and docs/API.md kept
# in step with it by tests/schema/check_docs.py), included by the
# Makefile. In the plain build (SANITIZE empty) `make check` runs the test
# binaries with RECORD=1: tests/lib/harness.c records every response the
# integration tests receive under $(BUILD)/responses/, then
# scripts/run-tests checks schemas/openapi.json itself
# (tests/schema/validate_openapi.py, examples included) and validates each
# recorded response against it (tests/schema/validate_responses.py). The
# sanitizer build runs the same tests without recording. RECORD=0 turns it
# off.
#   make check-schema   only the integration tests, recorded and validated

.PHONY: check-schema

ifeq ($(SANITIZE),)
check: export RECORD ?= 1
endif

check-schema: all
	@RECORD=1 BUILD=$(BUILD) scripts/run-tests \
		$(filter $(BUILD)/tests/http/%,$(TEST_BIN))
