# The Python client (clients/python/), included by the Makefile.
#   make check-python   its tests (unittest, Debian's python3 + python3-numpy;
#                       torch tests skipped without python3-torch) against
#                       two daemons of $(BUILD) on free loopback ports.
# `make check` runs it (a prerequisite: before the C suites), so `make test`
# runs it for the plain and the sanitizer builds. GG_REQUIRE_V11=1 turns the
# skips of contract v1.1 features the daemon lacks into failures.

PYTHON ?= /usr/bin/python3

.PHONY: check-python

check-python: $(BIN)
	@GG_REQUIRE_V11=1 $(PYTHON) clients/python/tests/run_tests.py --bin $(BIN)

check: check-python
