// Benchmarks ouro::matmul on square float32 products against cblas_sgemm called directly on
// the same buffers, in the same process, per size and thread count: the ratio is what the
// tensor layer (shape checks, output allocation, dispatch) costs on top of BLAS.
#include <cblas.h>

#include <benchmark/benchmark.h>

#include <string>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/linalg.h"
#include "ouro/tensor/random.h"

namespace {

struct Operands {
  ouro::Tensor a, b, c;
};

Operands make_operands(std::int64_t n) {
  ouro::Generator gen(1);
  return {ouro::rand({n, n}, -1.0, 1.0, ouro::DType::Float32, &gen),
          ouro::rand({n, n}, -1.0, 1.0, ouro::DType::Float32, &gen), ouro::Tensor::zeros({n, n})};
}

void set_flop_counter(benchmark::State& state, std::int64_t n) {
  // 2 n^3: one multiply and one add per term of each of the n^2 dot products.
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) *
                                                    static_cast<double>(n),
                                                benchmark::Counter::kIsIterationInvariantRate);
  // Each operand read once and the result written once: the least traffic a product needs.
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 3 * n * n *
                          static_cast<std::int64_t>(sizeof(float)));
}

void matmul_ouro(benchmark::State& state, std::int64_t n, int threads) {
  ouro::set_num_threads(threads);
  const Operands ops = make_operands(n);
  for (auto _ : state) {
    ouro::Tensor c = ouro::matmul(ops.a, ops.b);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  set_flop_counter(state, n);
}

void matmul_cblas(benchmark::State& state, std::int64_t n, int threads) {
  ouro::set_num_threads(threads);  // also sets OpenBLAS's threads: it is the OpenMP build
  const Operands ops = make_operands(n);
  const float* a = ops.a.data<float>();
  const float* b = ops.b.data<float>();
  float* c = ops.c.data<float>();
  const int size = static_cast<int>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b, size, 0.0f, c, size);
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  set_flop_counter(state, n);
}

// Registered pairwise (ouro, then cblas, for each size and thread count) so that both sides of
// a ratio run back to back and share whatever else the machine is doing at that moment.
// Names are group/impl/params; run_ratios.sh pairs ouro with the reference by them.
[[maybe_unused]] const bool registered = [] {
  for (std::int64_t n : {64, 128, 256, 512, 1024, 2048}) {
    for (int threads : {1, 2}) {
      const std::string params = "/n:" + std::to_string(n) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("matmul/ouro" + params).c_str(), matmul_ouro, n, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("matmul/cblas" + params).c_str(), matmul_cblas, n, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
