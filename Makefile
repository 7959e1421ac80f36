# The README's two commands: `make demo` runs the main job, `make test` runs every test.
# Both install missing Debian packages first, then configure and build incrementally.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all setup configure build test test-asan fuzz-build fuzz fuzz-smoke demo demo-lstm demo-source bench clean

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
	@if command -v clang++ >/dev/null 2>&1; then $(MAKE) --no-print-directory fuzz-smoke; \
	 else echo "make test: clang++ not found, the fuzz smoke is skipped (scripts/setup.sh installs clang)"; fi

# The whole suite built with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option OURO_SANITIZE) in its own build directory, run under ctest with LeakSanitizer
# checking every test process at exit. ASAN_CMAKE_FLAGS is the one place the sanitized
# build's configuration lives: the fuzz targets build in the same directory with these flags
# plus -DOURO_FUZZ=ON (their parser library adds libFuzzer's coverage instrumentation).
ASAN_BUILD_DIR ?= build-asan
ASAN_CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DOURO_SANITIZE=ON -DOURO_BUILD_BENCH=OFF
# detect_leaks=1 is the default on x86-64 Linux; spelled out because the leak check is part of
# what this target proves (LeakSanitizer cannot run under ptrace: not inside gdb or strace).
# allocator_may_return_null=1: an impossible allocation returns null as glibc's would (tests
# check that it becomes an ouro::Error) instead of ASan aborting the process.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
           UBSAN_OPTIONS=print_stacktrace=1
test-asan: setup
	cmake -S . -B $(ASAN_BUILD_DIR) $(ASAN_CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && $(ASAN_ENV) ctest --output-on-failure -j $(JOBS)

# Fuzzing with clang's libFuzzer under ASan+UBSan: one target per parser of outside input
# (fuzz/*.cpp), built in the sanitized build directory with ASAN_CMAKE_FLAGS; fuzz-build
# compiles only the targets and the library of parsers under them. `make fuzz` runs each
# target for FUZZ_SECONDS from its committed seeds (fuzz/corpus/<target>/), writing what it
# finds under FUZZ_WORK (new corpus entries, crash inputs, logs), never into the committed
# corpus. `make fuzz-smoke`, part of `make test`, runs each for FUZZ_SMOKE_SECONDS.
FUZZ_BUILD_DIR ?= $(ASAN_BUILD_DIR)
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_JOBS ?= $(JOBS)
FUZZ_WORK ?= $(FUZZ_BUILD_DIR)/fuzz-work
fuzz-build: setup
	cmake -S . -B $(FUZZ_BUILD_DIR) $(ASAN_CMAKE_FLAGS) -DOURO_FUZZ=ON
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target ouro_fuzzers

fuzz: fuzz-build
	bash scripts/run_fuzzers.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_WORK) $(FUZZ_JOBS)

fuzz-smoke: fuzz-build
	bash scripts/run_fuzzers.sh $(FUZZ_BUILD_DIR) $(FUZZ_SMOKE_SECONDS) $(FUZZ_BUILD_DIR)/fuzz-smoke $(FUZZ_JOBS)

# The main job: developing a model from scratch and fine-tuning it, in under 5 minutes on
# a 2-core machine: pretrain a small GPT on the English fortunes with the topic file
# startrek held out, sample from it, fine-tune it on startrek with LoRA (and in full, for
# comparison), and report the validation losses before and after on both, with a sample.
# The program is examples/gpt_finetune_topic.cpp; ctest runs a smaller version of it.
DEMO_FLAGS ?= --pretrain-steps 1200 --finetune-steps 300 --width 96 --layers 3 --lora-rank 4 --lora-alpha 8 --lora-lr 0.01
demo: build
	OURO_NUM_THREADS=$${OURO_NUM_THREADS:-$(shell nproc)} $(BUILD_DIR)/examples/example_gpt_finetune_topic $(DEMO_FLAGS)

# The previous main job: a character-level LSTM (a feedback network: its state returns as
# its input) trained on the fortunes corpus for about a minute on all cores, then a sample.
# The full recipe is examples/char_lstm_fortunes.toml (30 minutes); runs/demo holds the run.
DEMO_RUN ?= runs/demo
demo-lstm: build
	rm -rf $(DEMO_RUN)
	OURO_NUM_THREADS=$${OURO_NUM_THREADS:-$(shell nproc)} $(BUILD_DIR)/ouro train examples/char_lstm_fortunes.toml \
	  --set train.run_dir=$(DEMO_RUN) --set train.max_seconds=60
	@echo
	OURO_NUM_THREADS=$${OURO_NUM_THREADS:-$(shell nproc)} $(BUILD_DIR)/ouro generate $(DEMO_RUN) \
	  --prompt "The " --max-tokens 400 --temperature 0.8 --top-k 20 --seed 1

# The earlier demo: the source document's 3-5-2 network on iris, by hand and with fit().
demo-source: build
	$(BUILD_DIR)/examples/example_source_network
	@echo
	$(BUILD_DIR)/examples/example_source_network_fit

bench: build
	$(BUILD_DIR)/bench/ouro_bench

clean:
	rm -rf $(BUILD_DIR)
