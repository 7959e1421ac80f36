// The attention op alone on the `gpt` workload's shapes (batch 16, 4 heads, 128 positions,
// head_dim 32, causal, float32), forward and backward: the fused op
// (kernels/cpu/attention) against the composition of ops it is tested against
// (scaled_dot_product_attention_reference: matmul, masked_fill, softmax, matmul).
// Items are FLOPs counted as in bench/README.md (q k^T and p v in full, times 3 for
// forward + backward), so items/s is comparable with the sgemm rate of `gpt/sgemm`.
#include <benchmark/benchmark.h>

#include <string>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/attention.h"
#include "ouro/tensor/random.h"

namespace {

constexpr std::int64_t kBatch = 16, kHeads = 4, kTime = 128, kHeadDim = 32;

void bench_attention_op(benchmark::State& state, bool fused, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(7);
  const ouro::Shape shape{kBatch, kHeads, kTime, kHeadDim};
  ouro::Tensor q = ouro::randn(shape, 0, 1, ouro::DType::Float32, &gen).set_requires_grad(true);
  ouro::Tensor k = ouro::randn(shape, 0, 1, ouro::DType::Float32, &gen).set_requires_grad(true);
  ouro::Tensor v = ouro::randn(shape, 0, 1, ouro::DType::Float32, &gen).set_requires_grad(true);
  const ouro::Tensor grad = ouro::randn(shape, 0, 1, ouro::DType::Float32, &gen);
  for (auto _ : state) {
    q.zero_grad();
    k.zero_grad();
    v.zero_grad();
    const ouro::Tensor out = fused ? ouro::scaled_dot_product_attention(q, k, v)
                                   : ouro::scaled_dot_product_attention_reference(q, k, v);
    out.backward(grad);
    benchmark::DoNotOptimize(out.raw_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 3 * 4 * kBatch * kHeads * kTime * kTime *
                          kHeadDim);
}

[[maybe_unused]] const bool registered = [] {
  for (int threads : {1, 2})
    for (bool fused : {true, false})
      benchmark::RegisterBenchmark(("attention/gpt/" + std::string(fused ? "fused" : "reference") +
                                    "/threads:" + std::to_string(threads))
                                       .c_str(),
                                   bench_attention_op, fused, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
