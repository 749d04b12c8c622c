# Examples (examples/*/), included by the Makefile; `all` builds them so
# they keep compiling. `make examples` builds only these.
#   examples/oracle/cost_server.c  -> $(BUILD)/examples/oracle/cost_server

EXAMPLES := $(BUILD)/examples/oracle/cost_server

.PHONY: examples
examples: $(EXAMPLES)
all: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(LIBS)
