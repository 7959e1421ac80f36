// LinearSkip: the forward against a hand-written loop (inner output plus the linear map of
// the flattened input), float64 gradient checks through both paths (alone and inside a
// closed-loop Forecaster rollout), the least-squares fit, and errors that name the shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "ouro/nn/linear_skip.h"
#include "ouro/ouro.h"

namespace ouro {
namespace {

using testing::expect_error;
using testing::expect_gradients_match;
using testing::expect_values;

std::shared_ptr<LinearSkip> gru_with_skip(std::int64_t window, std::int64_t hidden, DType dtype, std::uint64_t seed) {
  Generator gen(seed);
  const RecurrentOptions rnn{.input_size = 1, .hidden_size = hidden, .batch_first = true, .return_sequences = false,
                             .dtype = dtype, .generator = &gen};
  auto inner = std::make_shared<Sequential>(Sequential{
      std::make_shared<GRU>(rnn),
      std::make_shared<Linear>(LinearOptions{.in = hidden, .out = 1, .dtype = dtype, .generator = &gen})});
  return std::make_shared<LinearSkip>(inner, LinearSkipOptions{.in = window, .out = 1, .dtype = dtype, .generator = &gen});
}

TEST(LinearSkip, ForwardIsInnerPlusLinearOfTheFlattenedInput) {
  const std::int64_t B = 3, W = 4, F = 2, out = 2;
  Generator gen(5);
  auto inner = std::make_shared<Sequential>(Sequential{
      std::make_shared<Flatten>(),
      std::make_shared<Linear>(LinearOptions{.in = W * F, .out = out, .activation = ActivationKind::Tanh,
                                             .dtype = DType::Float64, .generator = &gen})});
  LinearSkip skip(inner, LinearSkipOptions{.in = W * F, .out = out, .dtype = DType::Float64, .generator = &gen});
  const Tensor x = rand({B, W, F}, -1, 1, DType::Float64, &gen);
  const std::vector<double> xs = x.to_vector(), w = skip.linear().weight().to_vector(),
                            b = skip.linear().bias().to_vector();
  const std::vector<double> inner_out = inner->forward(x).to_vector();
  std::vector<double> expected(B * out);
  for (std::int64_t n = 0; n < B; ++n)
    for (std::int64_t o = 0; o < out; ++o) {
      double s = b[o];
      for (std::int64_t i = 0; i < W * F; ++i) s += w[o * W * F + i] * xs[n * W * F + i];
      expected[n * out + o] = inner_out[n * out + o] + s;
    }
  const Tensor y = skip.forward(x);
  ASSERT_EQ(y.shape(), (Shape{B, out}));
  expect_values(y, expected, 1e-14);
  // Parameters are named by path, as checkpoints see them.
  const auto state = skip.state_dict();
  EXPECT_EQ(state.count("linear.weight"), 1u);
  EXPECT_EQ(state.count("inner.1.weight"), 1u);
}

TEST(LinearSkip, GradcheckThroughBothPaths) {
  auto skip = gru_with_skip(3, 2, DType::Float64, 11);
  std::vector<Tensor> leaves{testing::random_leaf({2, 3, 1}, 12)};
  for (const Tensor& p : skip->parameters()) leaves.push_back(p);
  expect_gradients_match([&](const std::vector<Tensor>& in) { return skip->forward(in[0]); }, leaves);
}

// The hybrid step model inside a free-running rollout: the gradient flows through every
// fed-back prediction along both the recurrent and the linear path.
TEST(LinearSkip, GradcheckFreeRunningForecasterRollout) {
  Forecaster model(gru_with_skip(3, 2, DType::Float64, 13), ForecasterOptions{.window = 3, .features = 1, .rollout = 4});
  std::vector<Tensor> leaves{testing::random_leaf({2, 3, 1}, 14)};
  for (const Tensor& p : model.parameters()) leaves.push_back(p);
  expect_gradients_match([&](const std::vector<Tensor>& in) { return model.rollout(in[0], 4, Tensor(), 1.0); }, leaves);
}

TEST(LinearSkip, LeastSquaresRecoversAnExactLinearMap) {
  // targets = 0.5 + x . (1, -2, 3) exactly: the fit gives these coefficients back.
  Generator gen(3);
  const Tensor x = rand({20, 3, 1}, -1, 1, DType::Float64, &gen);
  const std::vector<double> xs = x.to_vector();
  std::vector<double> t(20);
  for (int n = 0; n < 20; ++n) t[n] = 0.5 + xs[n * 3] - 2 * xs[n * 3 + 1] + 3 * xs[n * 3 + 2];
  auto skip = gru_with_skip(3, 2, DType::Float32, 1);
  skip->fit_least_squares(x, Tensor::from_vector(t, {20, 1}));
  expect_values(skip->linear().weight(), {1, -2, 3}, 1e-5);
  expect_values(skip->linear().bias(), {0.5}, 1e-5);
  // A ridge shrinks the weights (not the intercept) towards zero.
  skip->fit_least_squares(x, Tensor::from_vector(t, {20, 1}), 100.0);
  const std::vector<double> shrunk = skip->linear().weight().to_vector();
  EXPECT_LT(std::abs(shrunk[2]), 1.5);
  EXPECT_GT(shrunk[2], 0);
}

TEST(LinearSkip, ErrorsNameTheShapes) {
  auto skip = gru_with_skip(3, 2, DType::Float32, 1);
  expect_error([&] { skip->forward(Tensor::zeros({2, 4, 1})); }, {"LinearSkip", "3 elements per sample", "[2, 4, 1]"});
  expect_error([&] { skip->fit_least_squares(Tensor::zeros({5, 3, 1}), Tensor::zeros({4, 1})); },
               {"targets [5, 1]", "[4, 1]"});
  expect_error([&] { skip->fit_least_squares(Tensor::zeros({5, 3, 1}), Tensor::zeros({5, 1})); }, {"singular", "ridge"});
  expect_error([&] { LinearSkip(nullptr, LinearSkipOptions{.in = 1, .out = 1}); }, {"inner module is null"});
}

}  // namespace
}  // namespace ouro
