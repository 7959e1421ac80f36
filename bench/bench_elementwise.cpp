// Benchmarks ouro::add on contiguous float32 vectors against std::memcpy of the output's bytes
// (the bandwidth ceiling: add moves 12 bytes per element, memcpy 8) and against a plain add loop
// over raw pointers (the same arithmetic with no tensor layer), all in the same process.
// Bytes counted are bytes read plus bytes written.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/tensor/random.h"

namespace {

void add_ouro(benchmark::State& state, std::int64_t n, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(2);
  const ouro::Tensor a = ouro::rand({n}, -1.0, 1.0, ouro::DType::Float32, &gen);
  const ouro::Tensor b = ouro::rand({n}, -1.0, 1.0, ouro::DType::Float32, &gen);
  for (auto _ : state) {
    ouro::Tensor c = ouro::add(a, b);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 3 * n *
                          static_cast<std::int64_t>(sizeof(float)));
}

// One thread, as the reference points are: what a single core's loop over raw arrays reaches.
void add_raw_loop(benchmark::State& state, std::int64_t n) {
  std::vector<float> a(static_cast<std::size_t>(n), 0.5f), b(static_cast<std::size_t>(n), 0.25f),
      c(static_cast<std::size_t>(n));
  for (auto _ : state) {
    const float* pa = a.data();
    const float* pb = b.data();
    float* pc = c.data();
    for (std::int64_t i = 0; i < n; ++i) pc[i] = pa[i] + pb[i];
    benchmark::DoNotOptimize(pc);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 3 * n *
                          static_cast<std::int64_t>(sizeof(float)));
}

void add_memcpy(benchmark::State& state, std::int64_t n) {
  std::vector<float> src(static_cast<std::size_t>(n), 1.0f), dst(static_cast<std::size_t>(n));
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), static_cast<std::size_t>(n) * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * n *
                          static_cast<std::int64_t>(sizeof(float)));
}

// Names are group/impl/params; the references have no thread count (they run on one thread)
// and run_ratios.sh pairs each ouro case with the reference of the same n.
[[maybe_unused]] const bool registered = [] {
  for (std::int64_t n : {10000, 100000, 1000000, 10000000}) {
    const std::string size = "/n:" + std::to_string(n);
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(("add/ouro" + size + "/threads:" + std::to_string(threads)).c_str(), add_ouro, n,
                                   threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("add/memcpy" + size).c_str(), add_memcpy, n)->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("add/loop" + size).c_str(), add_raw_loop, n)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
