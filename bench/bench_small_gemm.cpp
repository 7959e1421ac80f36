// Benchmarks kernels::small_gemm against cblas_sgemm (OpenBLAS, one thread) on the same
// buffers: the mlp workload's forward and backward shapes and squares and slabs on both sides
// of kSmallGemmMaxWork. Each iteration runs ouro then cblas back to back, so both share the
// machine's load at that moment; the reported time is ouro's, and the counter
// `cblas_over_ouro` is cblas's total time over ouro's (above 1: the small kernel wins).
#include <cblas.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/small_gemm.h"

namespace {

struct Shape {
  bool transpose_a, transpose_b;
  std::int64_t m, n, k;
};

void small_gemm_vs_cblas(benchmark::State& state, Shape s) {
  ouro::set_num_threads(1);  // also OpenBLAS's: both sides on one thread
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(s.m * s.k)), b(static_cast<std::size_t>(s.k * s.n)),
      c(static_cast<std::size_t>(s.m * s.n), 0.0f);
  for (float& x : a) x = uniform(rng);
  for (float& x : b) x = uniform(rng);
  const std::int64_t lda = s.transpose_a ? s.m : s.k, ldb = s.transpose_b ? s.k : s.n, ldc = s.n;
  // Enough calls per timed span that the clock's own cost does not count.
  const int calls = static_cast<int>(std::max<std::int64_t>(1, 2'000'000 / (s.m * s.n * s.k)));
  using Clock = std::chrono::steady_clock;
  double ouro_seconds = 0, cblas_seconds = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i)
      ouro::kernels::small_gemm(s.transpose_a, s.transpose_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb,
                                1.0f, c.data(), ldc);
    benchmark::ClobberMemory();
    const auto t1 = Clock::now();
    for (int i = 0; i < calls; ++i)
      cblas_sgemm(CblasRowMajor, s.transpose_a ? CblasTrans : CblasNoTrans, s.transpose_b ? CblasTrans : CblasNoTrans,
                  static_cast<blasint>(s.m), static_cast<blasint>(s.n), static_cast<blasint>(s.k), 1.0f, a.data(),
                  static_cast<blasint>(lda), b.data(), static_cast<blasint>(ldb), 1.0f, c.data(),
                  static_cast<blasint>(ldc));
    benchmark::ClobberMemory();
    const auto t2 = Clock::now();
    const double ours = std::chrono::duration<double>(t1 - t0).count() / calls;
    ouro_seconds += ours;
    cblas_seconds += std::chrono::duration<double>(t2 - t1).count() / calls;
    state.SetIterationTime(ours);
  }
  state.counters["cblas_over_ouro"] = cblas_seconds / ouro_seconds;
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

[[maybe_unused]] const bool registered = [] {
  const Shape shapes[] = {
      // mlp forward: x[32, in] @ W[out, in]^T
      {false, true, 32, 128, 64},
      {false, true, 32, 128, 128},
      {false, true, 32, 10, 128},
      // mlp backward: dx = g @ W (NN), dW = g^T @ x (TN)
      {false, false, 32, 64, 128},
      {false, false, 32, 128, 128},
      {false, false, 32, 128, 10},
      {true, false, 128, 64, 32},
      {true, false, 128, 128, 32},
      {true, false, 10, 128, 32},
      // squares and slabs around the 2^21 threshold and beyond it
      {false, false, 64, 64, 64},
      {false, false, 100, 100, 100},
      {false, false, 128, 128, 128},
      {true, true, 128, 128, 128},
      {false, false, 160, 160, 160},
      {false, false, 256, 256, 32},
      {false, false, 256, 256, 256},
      // the lstm workload's sequence-wide products (bench_lstm.cpp): input projection, the
      // gradients of w_ih, w_hh and x, and the output layer's forward and backward
      {false, true, 2048, 1024, 64},
      {true, false, 1024, 256, 2048},
      {true, false, 1024, 64, 2048},
      {false, false, 2048, 64, 1024},
      {false, true, 2048, 256, 256},
      {false, false, 2048, 256, 256},
      {true, false, 256, 256, 2048},
  };
  for (const Shape& s : shapes) {
    const std::string name = std::string("small_gemm/") + (s.transpose_a ? "T" : "N") + (s.transpose_b ? "T" : "N") +
                             "/m:" + std::to_string(s.m) + "/n:" + std::to_string(s.n) + "/k:" + std::to_string(s.k);
    benchmark::RegisterBenchmark(name.c_str(), small_gemm_vs_cblas, s)->UseManualTime()->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
