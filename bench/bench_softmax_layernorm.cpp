// Benchmarks the fused softmax and layer_norm forwards against the same maths composed from
// primitive ops (max, exp, sum, div; mean, sub, mul, sqrt, add), in the same process: the
// ratio says what fusing buys (house style rule 3: fuse where a measurement says so). A
// std::memcpy of the same bytes (x read, y written) is the bandwidth reference: a fused kernel
// reads x and writes y once, so memcpy's GB/s is the most it could reach.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/layer_norm.h"
#include "ouro/ops/reduce.h"
#include "ouro/ops/softmax.h"
#include "ouro/ops/unary.h"
#include "ouro/tensor/random.h"

namespace {

ouro::Tensor make_input(std::int64_t rows, std::int64_t cols) {
  ouro::Generator gen(3);
  return ouro::randn({rows, cols}, 0.0, 1.0, ouro::DType::Float32, &gen);
}

ouro::Tensor softmax_composed(const ouro::Tensor& x) {
  const ouro::Tensor e = ouro::exp(x - ouro::max(x, {-1}, true));
  return e / ouro::sum(e, {-1}, true);
}

ouro::Tensor layer_norm_composed(const ouro::Tensor& x, const ouro::Tensor& weight, const ouro::Tensor& bias,
                                 double eps) {
  const ouro::Tensor centred = x - ouro::mean(x, {-1}, true);
  const ouro::Tensor variance = ouro::mean(centred * centred, {-1}, true);
  return centred / ouro::sqrt(variance + eps) * weight + bias;
}

// Bytes: x read and y written once, the least any implementation must move.
void set_bytes(benchmark::State& state, std::int64_t rows, std::int64_t cols) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * rows * cols *
                          static_cast<std::int64_t>(sizeof(float)));
}

template <bool Fused>
void bench_softmax(benchmark::State& state, std::int64_t rows, std::int64_t cols, int threads) {
  ouro::set_num_threads(threads);
  const ouro::Tensor x = make_input(rows, cols);
  for (auto _ : state) {
    ouro::Tensor y = Fused ? ouro::softmax(x, -1) : softmax_composed(x);
    benchmark::DoNotOptimize(y.raw_data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, rows, cols);
}

template <bool Fused>
void bench_layer_norm(benchmark::State& state, std::int64_t rows, std::int64_t cols, int threads) {
  ouro::set_num_threads(threads);
  const ouro::Tensor x = make_input(rows, cols);
  const ouro::Tensor weight = ouro::Tensor::full({cols}, 1.5);
  const ouro::Tensor bias = ouro::Tensor::full({cols}, 0.25);
  for (auto _ : state) {
    ouro::Tensor y = Fused ? ouro::layer_norm(x, {cols}, weight, bias, 1e-5) : layer_norm_composed(x, weight, bias, 1e-5);
    benchmark::DoNotOptimize(y.raw_data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, rows, cols);
}

// The same bytes as the fused op moves: rows*cols floats read and as many written. One thread,
// like the add reference in bench_elementwise.cpp.
void bench_memcpy(benchmark::State& state, std::int64_t rows, std::int64_t cols) {
  std::vector<float> src(static_cast<std::size_t>(rows * cols), 1.0f), dst(static_cast<std::size_t>(rows * cols));
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size() * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, rows, cols);
}

// Names are group/impl/params, fused ("ouro"), composed and memcpy side by side for
// run_ratios.sh. memcpy has no thread count (one thread) and is registered in each group so
// that every ratio pairs cases of the same interleaved run.
[[maybe_unused]] const bool registered = [] {
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{64, 768}, {1024, 768}, {8192, 1024}};
  for (const auto& [rows, cols] : shapes) {
    const std::string shape = "/rows:" + std::to_string(rows) + "/cols:" + std::to_string(cols);
    for (const char* group : {"softmax", "layer_norm"})
      benchmark::RegisterBenchmark((group + std::string("/memcpy") + shape).c_str(), bench_memcpy, rows, cols)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    for (int threads : {1, 2}) {
      const std::string params = shape + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("softmax/ouro" + params).c_str(), bench_softmax<true>, rows, cols, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("softmax/composed" + params).c_str(), bench_softmax<false>, rows, cols, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("layer_norm/ouro" + params).c_str(), bench_layer_norm<true>, rows, cols, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("layer_norm/composed" + params).c_str(), bench_layer_norm<false>, rows, cols,
                                   threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
