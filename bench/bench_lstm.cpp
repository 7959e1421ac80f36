// The `lstm` workload: byte vocabulary 256, embedding 64, one LSTM layer of 256 units,
// sequence 64, batch 32, Adam, cross-entropy over all positions. `lstm/ouro/train` times one
// full training step (embedding -> fused recurrent op -> linear -> cross_entropy -> backward
// -> Adam), items = tokens; `lstm/ouro/generate` times single-token generation at batch 1
// (embedding, one LSTM step from the carried state, linear, sampling), items = tokens.
// bench/lstm_torch.py times the same two loops in PyTorch; bench/run_lstm.sh runs both.
// `recurrent/lstm/{fused,reference}` time the recurrent op alone, fused against composed.
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include "ouro/autograd/grad_mode.h"
#include "ouro/generation/sampling.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/ops/embedding.h"
#include "ouro/ops/linear.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/recurrent.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/adam.h"
#include "ouro/tensor/random.h"

namespace {

constexpr std::int64_t kVocab = 256, kEmbed = 64, kHidden = 256, kSteps = 64, kBatch = 32;

// The parameters, initialised as PyTorch does (normal embedding, uniform +-1/sqrt(H) elsewhere).
struct LstmModel {
  ouro::Tensor embedding, w_ih, w_hh, b_ih, b_hh, w_out, b_out;
  explicit LstmModel(ouro::Generator& gen) {
    const double k = 1.0 / std::sqrt(static_cast<double>(kHidden));
    auto param = [](ouro::Tensor t) { return t.set_requires_grad(true), t; };
    embedding = param(ouro::randn({kVocab, kEmbed}, 0.0, 1.0, ouro::DType::Float32, &gen));
    w_ih = param(ouro::rand({4 * kHidden, kEmbed}, -k, k, ouro::DType::Float32, &gen));
    w_hh = param(ouro::rand({4 * kHidden, kHidden}, -k, k, ouro::DType::Float32, &gen));
    b_ih = param(ouro::rand({4 * kHidden}, -k, k, ouro::DType::Float32, &gen));
    b_hh = param(ouro::rand({4 * kHidden}, -k, k, ouro::DType::Float32, &gen));
    w_out = param(ouro::rand({kVocab, kHidden}, -k, k, ouro::DType::Float32, &gen));
    b_out = param(ouro::rand({kVocab}, -k, k, ouro::DType::Float32, &gen));
  }
  std::vector<ouro::Tensor> parameters() const { return {embedding, w_ih, w_hh, b_ih, b_hh, w_out, b_out}; }

  // tokens [T, B] -> logits [T, B, V] and the final state [B, 2H].
  std::pair<ouro::Tensor, ouro::Tensor> forward(const ouro::Tensor& tokens, const ouro::Tensor& h0,
                                                const ouro::Tensor& c0) const {
    ouro::RecurrentInputs in;
    in.x = ouro::embedding(embedding, tokens);
    in.h0 = h0;
    in.c0 = c0;
    in.w_ih = w_ih;
    in.w_hh = w_hh;
    in.b_ih = b_ih;
    in.b_hh = b_hh;
    const ouro::Tensor states = ouro::recurrent(ouro::CellType::Lstm, in);
    const std::int64_t steps = tokens.size(0);
    const ouro::Tensor h = ouro::narrow(states, 2, 0, kHidden);
    return {ouro::linear(h, w_out, b_out), ouro::squeeze(ouro::narrow(states, 0, steps - 1, 1), 0)};
  }
};

void bench_lstm_training(benchmark::State& state, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(7);
  LstmModel model(gen);
  ouro::Adam optimizer(model.parameters(), {.lr = 1e-3});
  const ouro::Tensor tokens = ouro::randint({kSteps + 1, kBatch}, kVocab, &gen);
  const ouro::Tensor inputs = ouro::narrow(tokens, 0, 0, kSteps).copy();
  const ouro::Tensor targets = ouro::narrow(tokens, 0, 1, kSteps).copy();
  const ouro::Tensor h0 = ouro::Tensor::zeros({kBatch, kHidden});
  const ouro::Tensor c0 = ouro::Tensor::zeros({kBatch, kHidden});
  for (auto _ : state) {
    optimizer.zero_grad();
    ouro::Tensor loss = ouro::cross_entropy(model.forward(inputs, h0, c0).first, targets);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kSteps * kBatch);
}

void bench_lstm_generation(benchmark::State& state, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(7);
  const LstmModel model(gen);
  ouro::NoGradGuard no_grad;
  ouro::Tensor h = ouro::Tensor::zeros({1, kHidden}), c = ouro::Tensor::zeros({1, kHidden});
  std::int64_t token = 'T';
  for (auto _ : state) {
    const auto [logits, last] = model.forward(ouro::Tensor::from_indices({token}, {1, 1}), h, c);
    h = ouro::narrow(last, 1, 0, kHidden);
    c = ouro::narrow(last, 1, kHidden, kHidden);
    token = ouro::sample_token(ouro::reshape(logits, {kVocab}), {.temperature = 1.0}, gen);
    benchmark::DoNotOptimize(token);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The recurrent op alone on the workload's shapes (x [64, 32, 64], 256 units), forward and
// backward: the fused op against the step-by-step composition it is tested against.
void bench_recurrent_op(benchmark::State& state, bool fused, int threads) {
  ouro::set_num_threads(threads);
  ouro::Generator gen(7);
  const LstmModel model(gen);
  ouro::RecurrentInputs in;
  in.x = ouro::randn({kSteps, kBatch, kEmbed}, 0.0, 1.0, ouro::DType::Float32, &gen).set_requires_grad(true);
  in.h0 = ouro::Tensor::zeros({kBatch, kHidden});
  in.c0 = ouro::Tensor::zeros({kBatch, kHidden});
  in.w_ih = model.w_ih;
  in.w_hh = model.w_hh;
  in.b_ih = model.b_ih;
  in.b_hh = model.b_hh;
  const ouro::Tensor grad = ouro::randn({kSteps, kBatch, 2 * kHidden}, 0.0, 1.0, ouro::DType::Float32, &gen);
  for (auto _ : state) {
    const ouro::Tensor states = fused ? ouro::recurrent(ouro::CellType::Lstm, in)
                                      : ouro::recurrent_reference(ouro::CellType::Lstm, in);
    states.backward(grad);
    benchmark::DoNotOptimize(states.raw_data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kSteps * kBatch);
}

[[maybe_unused]] const bool registered = [] {
  for (bool fused : {true, false})
    for (int threads : {1, 2})
      benchmark::RegisterBenchmark(
          ("recurrent/lstm/" + std::string(fused ? "fused" : "reference") + "/threads:" + std::to_string(threads))
              .c_str(),
          bench_recurrent_op, fused, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(("lstm/ouro/train/threads:" + std::to_string(threads)).c_str(), bench_lstm_training,
                                 threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("lstm/ouro/generate/threads:" + std::to_string(threads)).c_str(),
                                 bench_lstm_generation, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace
