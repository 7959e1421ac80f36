// K = 4 closed-loop refinement against K = 1 with the same f (same parameters, same count).
//
// The task: a ring of 16 cells evolves by a local nonlinear rule,
//     g(x)_i = tanh(0.8 x_{i-1} - 0.4 x_i + 0.8 x_{i+1}),
// and the target is the state four steps later, g(g(g(g(x)))). f is a local layer of the same
// form with learned (a, b, c, bias): 4 parameters, a receptive field of 3 cells. Why it needs
// iteration: each target cell depends on the 9 cells within 4 hops of it, through four
// nested tanh; one pass of f sees 3 cells, so K = 1 cannot express the target however it is
// trained, while K = 4 passes of the same f reach 9 cells and can express it exactly.
// Both models are trained identically (Trainer, Adam, same seeds, same initial f, same data);
// the test asserts equal parameter counts and that K = 4 ends well under K = 1's validation
// MSE, for four initialisations (observed: K = 1 about 0.218, K = 4 under 1e-11).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "ouro/nn/feedback.h"
#include "ouro/ouro.h"

namespace ouro {
namespace {

constexpr std::int64_t kCells = 16;
// A mirror-symmetric rule. With an asymmetric one (e.g. 1.0, 0.5, -0.6) the K = 4 loop
// sometimes settles on the rule's mirror image, a local minimum it does not leave: a property
// of the task's landscape, not of the loop, so the test avoids it rather than hide it.
constexpr double kLeft = 0.8, kSelf = -0.4, kRight = 0.8;

// y_i = tanh(a x_{i-1} + b x_i + c x_{i+1} + bias) on a ring: one hop of propagation.
class RingLayer : public Module {
 public:
  explicit RingLayer(Generator& gen) {
    // Near the identity (self weight 1, neighbours small and random): a loop started there
    // passes signal and gradient through all K steps, where a small random start lets the
    // iterates decay towards 0 and the gradient with them (the IRNN initialisation's reason).
    weights_ = register_parameter("weight", rand({3}, -0.5, 0.5, DType::Float32, &gen));
    weights_.data<float>()[1] += 1.0f;
    bias_ = register_parameter("bias", Tensor::zeros({1}));
  }
  std::string type_name() const override { return "RingLayer"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override {
    const std::int64_t n = x.size(1);
    const Tensor left = concat({narrow(x, 1, n - 1, 1), narrow(x, 1, 0, n - 1)}, 1);   // x_{i-1}
    const Tensor right = concat({narrow(x, 1, 1, n - 1), narrow(x, 1, 0, 1)}, 1);      // x_{i+1}
    const Tensor w = weights_;
    return tanh(narrow(w, 0, 0, 1) * left + narrow(w, 0, 1, 1) * x + narrow(w, 0, 2, 1) * right + bias_);
  }

 private:
  Tensor weights_, bias_;
};

Dataset ring_dataset(std::int64_t n, Generator& gen) {
  Tensor x = rand({n, kCells}, -1, 1, DType::Float32, &gen);
  std::vector<double> state = x.to_vector(), next(state.size());
  for (int step = 0; step < 4; ++step) {
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t i = 0; i < kCells; ++i) {
        const double* row = &state[r * kCells];
        next[r * kCells + i] = std::tanh(kLeft * row[(i + kCells - 1) % kCells] + kSelf * row[i] +
                                         kRight * row[(i + 1) % kCells]);
      }
    state.swap(next);
  }
  return Dataset{x, Tensor::from_vector(state, {n, kCells})};
}

struct Result {
  double val_mse;
  std::int64_t parameters;
};

Result train_loop(std::int64_t steps, std::uint64_t init_seed, const Dataset& train, const Dataset& val) {
  Generator init(init_seed);  // the same initial f for both K
  auto model = std::make_shared<Feedback>(std::make_shared<RingLayer>(init),
                                          FeedbackOptions{.steps = steps, .mode = FeedbackMode::Replace});
  manual_seed(1);
  Trainer trainer(model);
  trainer.compile({.optimizer = [](std::vector<Tensor> p) { return std::make_shared<Adam>(p, AdamOptions{.lr = 0.02}); },
                   .loss = "mse"});
  trainer.fit(train, FitOptions{.epochs = 20, .batch_size = 64, .seed = 2, .verbose = Verbosity::Silent});
  return {trainer.evaluate(val, 256).at("loss"), model->parameter_count()};
}

TEST(FeedbackRefinement, FourLoopStepsBeatOneWithTheSameParameters) {
  Generator data_gen(2026);
  const Dataset train = ring_dataset(1024, data_gen), val = ring_dataset(512, data_gen);
  std::printf("ring of %lld cells, target = g^4(x) (variance %.3f); f = one local tanh layer\n",
              static_cast<long long>(kCells), var(val.targets).item());
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    const Result one = train_loop(1, seed, train, val), four = train_loop(4, seed, train, val);
    std::printf("  init %llu: %lld parameters each; validation MSE K = 1: %.6f, K = 4: %.2e  (%.0fx lower)\n",
                static_cast<unsigned long long>(seed), static_cast<long long>(one.parameters), one.val_mse,
                four.val_mse, one.val_mse / four.val_mse);
    EXPECT_EQ(one.parameters, four.parameters);
    EXPECT_LT(four.val_mse, 0.1 * one.val_mse) << "init " << seed;
  }
}

}  // namespace
}  // namespace ouro
