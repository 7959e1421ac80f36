// The `gpt` workload: byte vocabulary 256, context 128, width 128, 4 layers, 4 heads, batch 16,
// AdamW (decay 0.1 on matrices only), cross-entropy over all positions, no dropout.
// `gpt/ouro/train` times one full training step of ouro::Gpt (forward, loss, backward, AdamW),
// items = tokens; `gpt/ouro/generate` and `gpt/ouro/generate-cached` time greedy batch-1
// decoding over a 128-token window (restarted when full), without and with the KV cache,
// items = tokens; `gpt/sgemm` is cblas_sgemm on float32 1024 x 1024 x 1024, items = FLOPs, the
// rate the model-FLOPs utilisation is taken against (bench/README.md has the formula), and
// `gpt/ouro-gemm` the same product through ouro's own GEMM (kernels::gemm, which the model's
// matmuls use), the second yardstick. (Debian's OpenBLAS runs its generic SSE3 kernels on CPUs
// it does not know; bench/run_gpt.sh measures `gpt/sgemm` with OPENBLAS_CORETYPE set.)
// bench/gpt_torch.py times the same loops in PyTorch; bench/run_gpt.sh runs both.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>
#include <vector>

#include "ouro/autograd/grad_mode.h"
#include "ouro/kernels/cpu/gemm.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/nn/gpt.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/reduce.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/adam.h"
#include "ouro/tensor/random.h"

namespace {

constexpr std::int64_t kBatch = 16;

ouro::GptConfig workload() {
  ouro::GptConfig config;
  config.vocab_size = 256;
  config.context = 128;
  config.width = 128;
  config.layers = 4;
  config.heads = 4;
  config.seed = 7;
  return config;
}

void bench_gpt_training(benchmark::State& state, int threads) {
  ouro::set_num_threads(threads);
  ouro::Gpt model(workload());
  const std::int64_t context = model.config().context;
  std::vector<ouro::Tensor> matrices, others;
  for (const ouro::Tensor& p : model.parameters()) (p.dim() >= 2 ? matrices : others).push_back(p);
  ouro::AdamW optimizer({ouro::ParamGroup{.params = matrices, .weight_decay = 0.1},
                         ouro::ParamGroup{.params = others, .weight_decay = 0.0}},
                        {.lr = 3e-4});
  ouro::Generator gen(7);
  const ouro::Tensor tokens = ouro::randint({kBatch, context + 1}, model.config().vocab_size, &gen);
  const ouro::Tensor inputs = ouro::narrow(tokens, 1, 0, context).copy();
  const ouro::Tensor targets = ouro::narrow(tokens, 1, 1, context).copy();
  for (auto _ : state) {
    optimizer.zero_grad();
    ouro::Tensor loss = ouro::cross_entropy(model.forward(inputs), targets);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch * context);
}

void bench_gpt_generation(benchmark::State& state, bool cached, int threads) {
  ouro::set_num_threads(threads);
  ouro::Gpt model(workload());
  model.eval();
  const std::int64_t context = model.config().context;
  ouro::NoGradGuard no_grad;
  ouro::KvCache cache = model.make_cache();
  std::vector<std::int64_t> tokens{'T'};
  for (auto _ : state) {
    if (static_cast<std::int64_t>(tokens.size()) >= context) {  // window full: start again from the last token
      tokens = {tokens.back()};
      cache.reset();
    }
    const auto n = static_cast<std::int64_t>(tokens.size());
    ouro::Tensor logits;
    if (!cached)
      logits = model.forward(ouro::Tensor::from_indices(tokens, {1, n}));
    else if (cache.empty())
      logits = model.forward_cached(ouro::Tensor::from_indices(tokens, {1, n}), cache);
    else
      logits = model.forward_cached(ouro::Tensor::from_indices({tokens.back()}, {1, 1}), cache);
    const ouro::Tensor last = ouro::narrow(logits, 1, logits.size(1) - 1, 1);
    tokens.push_back(static_cast<std::int64_t>(ouro::argmax(ouro::reshape(last, {-1}), 0).item()));
    benchmark::DoNotOptimize(tokens.back());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bench_sgemm(benchmark::State& state, bool ours, int threads) {
  ouro::set_num_threads(threads);  // also OpenBLAS's threads (the OpenMP build: one pool)
  constexpr int n = 1024;
  ouro::Generator gen(7);
  const ouro::Tensor a = ouro::randn({n, n}, 0, 1, ouro::DType::Float32, &gen);
  const ouro::Tensor b = ouro::randn({n, n}, 0, 1, ouro::DType::Float32, &gen);
  ouro::Tensor c = ouro::Tensor::zeros({n, n});
  for (auto _ : state) {
    if (ours)
      ouro::kernels::gemm(false, false, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f, c.data<float>(), n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n,
                  0.0f, c.data<float>(), n);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * n * n * n);
}

[[maybe_unused]] const bool registered = [] {
  for (int threads : {1, 2}) {
    const std::string suffix = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("gpt/ouro/train" + suffix).c_str(), bench_gpt_training, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("gpt/ouro/generate" + suffix).c_str(), bench_gpt_generation, false, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("gpt/ouro/generate-cached" + suffix).c_str(), bench_gpt_generation, true, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    for (bool ours : {false, true})
      benchmark::RegisterBenchmark(((ours ? "gpt/ouro-gemm" : "gpt/sgemm") + suffix).c_str(), bench_sgemm, ours, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
