# The README's two commands: `make demo` runs the main job, `make test` runs every test.
# Both install missing Debian packages first, then configure and build incrementally.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test demo bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

configure: setup $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD_DIR)/examples/example_source_network
	@echo
	$(BUILD_DIR)/examples/example_source_network_fit

bench: build
	$(BUILD_DIR)/bench/ouro_bench

clean:
	rm -rf $(BUILD_DIR)
