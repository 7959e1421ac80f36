// The `mlp` training workload: a 64-128-128-10 ReLU network, batch 32, SGD with momentum 0.9,
// softmax cross-entropy. Each iteration is one full training step (zero_grad, forward, loss,
// backward, update), the same loop bench/mlp_peer.py times in PyTorch; run_mlp.sh runs both.
#include <benchmark/benchmark.h>

#include <string>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/sequential.h"
#include "ouro/ops/loss.h"
#include "ouro/optim/sgd.h"
#include "ouro/tensor/random.h"

namespace {

void bench_mlp_training(benchmark::State& state, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(7);
  ouro::Sequential net{
      std::make_shared<ouro::Linear>(ouro::LinearOptions{.in = 64, .out = 128, .activation = ouro::ActivationKind::Relu, .generator = &gen}),
      std::make_shared<ouro::Linear>(ouro::LinearOptions{.in = 128, .out = 128, .activation = ouro::ActivationKind::Relu, .generator = &gen}),
      std::make_shared<ouro::Linear>(ouro::LinearOptions{.in = 128, .out = 10, .generator = &gen})};
  ouro::SGD optimizer(net.parameters(), {.lr = 0.01, .momentum = 0.9});
  const ouro::Tensor x = ouro::randn({32, 64}, 0.0, 1.0, ouro::DType::Float32, &gen);
  const ouro::Tensor y = ouro::randint({32}, 10, &gen);
  for (auto _ : state) {
    optimizer.zero_grad();
    ouro::Tensor loss = ouro::cross_entropy(net(x), y);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 32);
}

[[maybe_unused]] const bool registered = [] {
  for (int threads : {1, 2})
    benchmark::RegisterBenchmark(("mlp/ouro/threads:" + std::to_string(threads)).c_str(), bench_mlp_training, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
