# A thin layer over meson. `make demo` runs the order-service demo (`make demo-aggregated`:
# with its lines in ClickHouse), `make test` runs every
# test suite; both install missing Debian packages first (scripts/install-deps.sh).
BUILD ?= build
MESON_ARGS ?=

.PHONY: all deps configure build demo demo-aggregated test bench clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_ARGS)

configure: deps $(BUILD)/build.ninja

build: configure
	ninja -C $(BUILD)

# Builds only what the demo runs (the library, the middleware and the two services of
# examples/order_service), not the tests; run_demo.py starts both services, sends a burst
# of orders, prints their merged JSON lines and a summary, and stops them.
demo: configure
	ninja -C $(BUILD) examples/order_service/orders examples/order_service/inventory
	python3 examples/order_service/run_demo.py --bin $(BUILD)/examples/order_service --out $(BUILD)/order_demo

# The same two services logging into ClickHouse as well (issue 11): run_aggregated.py starts
# a throwaway clickhouse-server on 127.0.0.1 under $(BUILD)/order_demo_aggregated, runs the
# services with --clickhouse, prints one order's lines across both services from a query
# by traceId, and the lines per service, then stops the server.
demo-aggregated: configure
	ninja -C $(BUILD) examples/order_service/orders examples/order_service/inventory
	python3 examples/order_service/run_aggregated.py --bin $(BUILD)/examples/order_service --out $(BUILD)/order_demo_aggregated

test: build
	meson test -C $(BUILD) --print-errorlogs

bench: build
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD)
