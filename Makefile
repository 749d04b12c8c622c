# gradguard: `make run` builds and starts the service, `make test` builds and
# runs every test (plain, then under ASan+UBSan). Both install missing Debian
# packages first. Every variable is ?=-overridable.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
SANITIZE ?=
PORT     ?= 8080
BIND     ?= 127.0.0.1
PKGS     ?= libmicrohttpd libcjson libcurl sqlite3 hiredis zlib
WERROR   ?=

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -fno-common $(WERROR)
# -ffp-contract=off: results must not depend on whether the compiler fuses
# a*b+c (numpy-identical RNG output, reproducible gradient checks).
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -pthread -ffp-contract=off -MMD -MP
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

ALL_CFLAGS = $(BASE_CFLAGS) $(WARN) $(OPT) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SAN_FLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm

CORE_SRC    := $(sort $(wildcard core/*.c))
HANDLER_SRC := $(sort $(wildcard handlers/*.c))
SERVER_SRC  := $(sort $(filter-out server/main.c,$(wildcard server/*.c)))
LIB_SRC     := $(CORE_SRC) $(HANDLER_SRC) $(SERVER_SRC)
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
TEST_SRC    := $(sort $(wildcard tests/core/test_*.c tests/handlers/test_*.c tests/http/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ     := $(call obj,$(LIB_SRC))
# schemas/openapi.json is embedded for GET /openapi.json as a generated C
# array ("{}" until the file exists).
OPENAPI_SRC := $(wildcard schemas/openapi.json)
OPENAPI_OBJ := $(BUILD)/obj/gen/openapi.o
LIB_OBJ     += $(OPENAPI_OBJ)
TESTLIB_OBJ := $(call obj,$(TESTLIB_SRC))
TEST_BIN    := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))
BIN         := $(BUILD)/gradguard

.PHONY: all run test check deps deps-test lint clean
.DEFAULT_GOAL := all

all: $(BIN) $(TEST_BIN)

deps:
	@scripts/install-deps build

deps-test:
	@scripts/install-deps test

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	@mkdir -p var
	exec $(BIN) --port $(PORT) --bind $(BIND)

# The README's test command: plain build, then ASan+UBSan build, same
# suites, then the concurrency tests under ThreadSanitizer (mk/robust.mk).
test: deps-test
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory check WERROR=-Werror
	@$(MAKE) --no-print-directory check WERROR=-Werror BUILD=build/san \
		SANITIZE=address,undefined OPT="-O1 -g"
	@$(MAKE) --no-print-directory check-tsan WERROR=-Werror

check: all
	@BUILD=$(BUILD) scripts/run-tests $(TEST_BIN)

lint:
	@scripts/lint

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libgradguard.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/gen/openapi.c: $(OPENAPI_SRC) server/openapi.h
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from schemas/openapi.json by the Makefile. */'; \
	  echo '#include "server/openapi.h"'; \
	  echo 'const unsigned char openapi_json[] = {'; \
	  if [ -n "$(OPENAPI_SRC)" ]; then od -An -v -tx1 $(OPENAPI_SRC) | \
	    sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  else echo '0x7b,0x7d,'; fi; \
	  echo '0x00};'; \
	  echo 'const size_t openapi_json_len = sizeof(openapi_json) - 1;'; \
	} > $@.tmp && mv $@.tmp $@

$(OPENAPI_OBJ): $(BUILD)/gen/openapi.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libggtest.a: $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(call obj,server/main.c) $(BUILD)/libgradguard.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/libggtest.a $(BUILD)/libgradguard.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

include mk/fuzz.mk
include mk/ui.mk
include mk/schema.mk
include mk/examples.mk
include mk/robust.mk
