# A thin layer over meson. `make demo` runs the order-service demo, `make test` runs every
# test suite; both install missing Debian packages first (scripts/install-deps.sh).
BUILD ?= build
MESON_ARGS ?=

.PHONY: all deps configure build demo test bench clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_ARGS)

configure: deps $(BUILD)/build.ninja

build: configure
	ninja -C $(BUILD)

# Builds only what the demo runs (the library and the one example), not the tests.
demo: configure
	ninja -C $(BUILD) examples/order_service
	./$(BUILD)/examples/order_service

test: build
	meson test -C $(BUILD) --print-errorlogs

bench: build
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
