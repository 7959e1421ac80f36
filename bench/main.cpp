// The benchmark binary's entry point: Google Benchmark's own main, so every bench/*.cpp only
// registers its cases. bench/run_ratios.sh runs it and prints ouro-vs-reference ratios.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
