# Record-Store: `make run` and `make test` work on a fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
DATA_DIR ?= data

.PHONY: deps configure build run test bench fuzz format clean

deps:
	./scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# The server on the embedded engine, data in $(DATA_DIR) (docs/operations.md).
run: build
	$(BUILD_DIR)/bin/recordstore serve --data-dir $(DATA_DIR)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 900

bench: build
	$(BUILD_DIR)/bin/recordstore_bench kv

# Each libFuzzer target runs for FUZZ_SECONDS (built with clang in build-fuzz/).
FUZZ_SECONDS ?= 60
fuzz:
	./scripts/install-deps.sh fuzz
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECORDSTORE_FUZZ=ON
	cmake --build build-fuzz -j$(JOBS) --target fuzz_targets
	for t in build-fuzz/fuzz/*; do echo "== $$t"; mkdir -p build-fuzz/corpus/$$(basename $$t); \
	  $$t -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$(basename $$t) || exit 1; done

format:
	find include src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
