// The Feedback wrapper: one small module f run K times in a closed loop,
// x(t+1) = f(x(t)) + noise(t) (the source document's formula), trained end to end with
// Trainer. Exits 0 only if it learned.
//
// Task: a ring of 16 cells evolves by g(x)_i = tanh(0.8 x_{i-1} - 0.4 x_i + 0.8 x_{i+1});
// from a state x, predict the state four steps later, g^4(x). Only that final state is
// supervised. f is a local layer of the same form with 4 learned numbers (a user-written
// Module: any module can be looped); the loop runs it K = 4 times with a little noise fed
// back in training (none in eval). Afterwards the example looks inside the loop (return_sequence):
// the intermediate iterates were never supervised, yet they equal g(x), g^2(x), g^3(x) up to
// a sign: the loop has found the one-step rule and reuses it. (Up to a sign because g is odd:
// -g iterated an even number of times is g^4 too, and training finds either.)
#include <cmath>
#include <cstdio>

#include "ouro/nn/feedback.h"
#include "ouro/ouro.h"

using namespace ouro;

namespace {

constexpr std::int64_t kCells = 16, kSteps = 4;

// y_i = tanh(a x_{i-1} + b x_i + c x_{i+1} + bias) on a ring: one hop of propagation,
// started near the identity so the signal survives all K steps early in training.
class RingLayer : public Module {
 public:
  explicit RingLayer(Generator& gen) {
    weight_ = register_parameter("weight", rand({3}, -0.5, 0.5, DType::Float32, &gen));
    weight_.data<float>()[1] += 1.0f;
    bias_ = register_parameter("bias", Tensor::zeros({1}));
  }
  std::string type_name() const override { return "RingLayer"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override {
    const std::int64_t n = x.size(1);
    const Tensor left = concat({narrow(x, 1, n - 1, 1), narrow(x, 1, 0, n - 1)}, 1);
    const Tensor right = concat({narrow(x, 1, 1, n - 1), narrow(x, 1, 0, 1)}, 1);
    return tanh(narrow(weight_, 0, 0, 1) * left + narrow(weight_, 0, 1, 1) * x + narrow(weight_, 0, 2, 1) * right +
                bias_);
  }

 private:
  Tensor weight_, bias_;
};

std::vector<double> evolve(std::vector<double> state, std::int64_t rows, int steps) {
  std::vector<double> next(state.size());
  for (int s = 0; s < steps; ++s) {
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t i = 0; i < kCells; ++i)
        next[r * kCells + i] = std::tanh(0.8 * state[r * kCells + (i + kCells - 1) % kCells] -
                                         0.4 * state[r * kCells + i] + 0.8 * state[r * kCells + (i + 1) % kCells]);
    state.swap(next);
  }
  return state;
}

Dataset make_data(std::int64_t n, Generator& gen) {
  const Tensor x = rand({n, kCells}, -1, 1, DType::Float32, &gen);
  return Dataset{x, Tensor::from_vector(evolve(x.to_vector(), n, kSteps), {n, kCells})};
}

double mse(const std::vector<double>& a, const std::vector<double>& b) {
  double total = 0;
  for (std::size_t i = 0; i < a.size(); ++i) total += (a[i] - b[i]) * (a[i] - b[i]);
  return total / static_cast<double>(a.size());
}

}  // namespace

int main() {
  Generator gen(2026);
  const Dataset train = make_data(2048, gen), val = make_data(512, gen);

  Generator init(17);
  auto f = std::make_shared<RingLayer>(init);
  auto loop = std::make_shared<Feedback>(
      f, FeedbackOptions{.steps = kSteps, .mode = FeedbackMode::Replace, .noise_stddev = 0.01, .noise_seed = 5});
  std::printf("%s\n", summary(*loop, {kCells}).c_str());

  manual_seed(1);
  Trainer trainer(loop);
  trainer.compile({.optimizer = [](std::vector<Tensor> p) { return std::make_shared<Adam>(p, AdamOptions{.lr = 0.02}); },
                   .loss = "mse"});
  trainer.fit(train, FitOptions{.epochs = 20, .batch_size = 64, .validation_data = val, .seed = 2,
                                .verbose = Verbosity::Silent,
                                .generators = {{"feedback_noise", &loop->noise_generator()}}});
  const double val_mse = trainer.evaluate(val, 256).at("loss");
  std::printf("validation MSE of g^4(x) after %d epochs: %.2e (target variance %.3f)\n", 20, val_mse,
              mse(val.targets.to_vector(), std::vector<double>(val.targets.numel(), 0.0)));

  // Inside the loop: every iterate against the true intermediate state.
  FeedbackOptions all = loop->options();
  all.return_sequence = true;
  Feedback unrolled(loop->inner_ptr(), all);
  unrolled.eval();
  NoGradGuard no_grad;
  const Tensor iterates = unrolled.forward(val.inputs);  // [K, N, cells]
  std::printf("iterate t   MSE against g^t(x)   against -g^t(x)   (only t = 4 was supervised)\n");
  for (std::int64_t t = 1; t <= kSteps; ++t) {
    std::vector<double> truth = evolve(val.inputs.to_vector(), val.size(), static_cast<int>(t));
    const std::vector<double> y = squeeze(narrow(iterates, 0, t - 1, 1), 0).to_vector();
    const double plus = mse(y, truth);
    for (double& v : truth) v = -v;
    std::printf("    %lld       %.2e            %.2e\n", static_cast<long long>(t), plus, mse(y, truth));
  }
  const bool learned = val_mse < 1e-3;
  std::printf("learned rule: a %.3f  b %.3f  c %.3f  bias %.3f   (true: 0.8 -0.4 0.8 0)\n", f->parameters()[0].at({0}),
              f->parameters()[0].at({1}), f->parameters()[0].at({2}), f->parameters()[1].at({0}));
  std::printf("%s\n", learned ? "learned" : "did NOT learn");
  return learned ? 0 : 1;
}
