# The browser playground (ui/, served at GET /ui/), included by the Makefile.
#   ui/index.html, ui/app.js, ui/style.css, ui/icon.svg are embedded into the library as
#   generated C arrays ($(BUILD)/gen/ui_assets.c, like schemas/openapi.json).
#   make test-ui   browser tests (tests/ui/run: Debian chromium +
#                  playwright-core); screenshots in $(BUILD)/ui-artifacts/.
#                  Not part of `make test`.

UI_FILES := ui/index.html ui/app.js ui/style.css ui/icon.svg
UI_GEN   := $(BUILD)/gen/ui_assets.c
UI_OBJ   := $(BUILD)/obj/gen/ui_assets.o

.PHONY: test-ui

# od prints each file as hex bytes; one NUL-terminated array per file,
# named after it (ui/app.js -> ui_app_js).
$(UI_GEN): $(UI_FILES) server/ui.h mk/ui.mk
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from ui/ by mk/ui.mk. */'; \
	  echo '#include "server/ui.h"'; \
	  for f in $(UI_FILES); do \
	    n=$$(echo "$$f" | tr './-' '___'); \
	    echo "const unsigned char $$n[] = {"; \
	    od -An -v -tx1 "$$f" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    echo '0x00};'; \
	    echo "const size_t $${n}_len = sizeof($$n) - 1;"; \
	  done; \
	} > $@.tmp && mv $@.tmp $@

$(UI_OBJ): $(UI_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# An extra prerequisite: the archive rule links $^.
$(BUILD)/libgradguard.a: $(UI_OBJ)

test-ui:
	@BUILD=$(BUILD) tests/ui/run
