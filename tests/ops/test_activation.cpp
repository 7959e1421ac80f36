#include <cmath>
#include <set>

#include "fixture.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

// Float64 leaf with |values| in [0.1, 1) and random signs: clear of the kink at 0 that relu,
// leaky_relu and rrelu have, so central differences never straddle it.
Tensor leaf_away_from_zero(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<double> values(static_cast<std::size_t>(shape_numel(shape)));
  for (double& v : values) v = (gen.uniform() < 0.5 ? -1.0 : 1.0) * gen.uniform(0.1, 1.0);
  Tensor t = Tensor::from_vector(values, shape, DType::Float64);
  t.set_requires_grad(true);
  return t;
}

Tensor doubles(const std::vector<double>& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())}, DType::Float64);
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---- forward values derived by hand ----

TEST(Forward, Relu) {
  expect_values(relu(doubles({-2, -0.5, 0, 0.5, 3})), {0, 0, 0, 0.5, 3});
  Tensor f = Tensor::from_vector(std::vector<float>{-1.5f, 2.5f}, {2});
  EXPECT_EQ(relu(f).dtype(), DType::Float32);
  expect_values(relu(f), {0, 2.5});
}

TEST(Forward, LeakyRelu) {
  expect_values(leaky_relu(doubles({-2, -0.5, 0, 0.5, 3}), 0.1), {-0.2, -0.05, 0, 0.5, 3});
  expect_values(leaky_relu(doubles({-100, 4})), {-1, 4});  // default slope 0.01
}

TEST(Forward, RreluEvalUsesMeanSlope) {
  const double slope = (1.0 / 8 + 1.0 / 3) / 2;  // 11/48
  expect_values(rrelu(doubles({-2, -0.5, 0, 3})), {-2 * slope, -0.5 * slope, 0, 3});
  expect_values(rrelu(doubles({-4, 1}), 0.2, 0.6, false), {-1.6, 1});
  // The eval gradient is that same fixed slope.
  Tensor x = doubles({-3, 2});
  x.set_requires_grad(true);
  rrelu(x, 0.2, 0.6, false).backward(Tensor::ones({2}, DType::Float64));
  expect_values(x.grad(), {0.4, 1});
}

TEST(Forward, Sigmoid) {
  const Tensor y = sigmoid(doubles({0, 1, -1, 2, 1000, -1000}));
  expect_values(y, {0.5, logistic(1), std::exp(-1.0) / (1 + std::exp(-1.0)), logistic(2), 1, 0});
  for (double v : y.to_vector()) EXPECT_TRUE(std::isfinite(v));
  // float32 overflows exp at about 88: the two-branch form must stay finite well past that.
  const Tensor f = sigmoid(Tensor::from_vector(std::vector<float>{-500.f, -100.f, 100.f, 500.f}, {4}));
  expect_values(f, {0, 0, 1, 1});
  for (double v : f.to_vector()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Forward, Tanh) {
  auto by_exp = [](double x) { return (std::exp(2 * x) - 1) / (std::exp(2 * x) + 1); };
  expect_values(tanh(doubles({0, 0.5, -2, 3})), {0, by_exp(0.5), by_exp(-2), by_exp(3)}, 1e-12);
  expect_values(tanh(doubles({-1000, 1000})), {-1, 1});
}

TEST(Forward, Softplus) {
  expect_values(softplus(doubles({0, 1, -1, 30, -30})),
                {std::log(2.0), std::log(1 + std::exp(1.0)), std::log(1 + std::exp(-1.0)), 30, std::exp(-30.0)},
                1e-12);
  // beta = 2, threshold = 5: 2 * 3 > 5 returns x unchanged; 2 * 1 < 5 uses the formula.
  expect_values(softplus(doubles({3, 1, -2}), 2, 5),
                {3, std::log(1 + std::exp(2.0)) / 2, std::log(1 + std::exp(-4.0)) / 2}, 1e-12);
  // Past float32's exp overflow, below a huge threshold: still finite.
  const Tensor big = softplus(Tensor::from_vector(std::vector<float>{200.f}, {1}), 1, 1e6);
  expect_values(big, {200});
}

// ---- forward values and gradients from PyTorch ----

TEST(Forward, GeluMatchesPyTorch) {
  const auto fixtures = load_fixture("activation_fixtures.json");
  ASSERT_EQ(fixtures.at("gelu").size(), 2u);
  for (const auto& c : fixtures.at("gelu")) {
    const auto mode = c.at("approximate").get<std::string>() == "tanh" ? GeluApproximation::Tanh : GeluApproximation::None;
    SCOPED_TRACE(c.at("approximate").get<std::string>());
    Tensor x = fixture_tensor(c.at("input"));
    x.set_requires_grad(true);
    Tensor y = gelu(x, mode);
    expect_values(y, fixture_tensor(c.at("output")).to_vector(), 1e-12);
    y.backward(fixture_tensor(c.at("grad_output")));
    expect_values(x.grad(), fixture_tensor(c.at("grad_input")).to_vector(), 1e-12);
    // float32 agrees to float32 precision.
    expect_values(gelu(fixture_tensor(c.at("input"), DType::Float32), mode), fixture_tensor(c.at("output")).to_vector(),
                  1e-6);
  }
}

// ---- rrelu randomness ----

TEST(Rrelu, TrainingSlopesLieInRangeAndDiffer) {
  const double lower = 0.1, upper = 0.3;
  Generator gen(99);
  Tensor x = Tensor::full({1000}, -1.0, DType::Float64);
  x.set_requires_grad(true);
  Tensor y = rrelu(x, lower, upper, true, &gen);
  std::set<double> slopes;
  for (double v : y.to_vector()) {
    EXPECT_GE(-v, lower);
    EXPECT_LE(-v, upper);
    slopes.insert(-v);
  }
  EXPECT_GT(slopes.size(), 990u) << "slopes should be drawn per element";
  // Backward multiplies by the same slopes the forward drew.
  y.backward(Tensor::ones({1000}, DType::Float64));
  expect_values(x.grad(), neg(y.detach()).to_vector(), 1e-15);
  // The same seed draws the same slopes; positive inputs pass unchanged.
  Generator again(99);
  expect_values(rrelu(x.detach(), lower, upper, true, &again), y.to_vector(), 0);
  Generator gen2(5);
  expect_values(rrelu(doubles({2, 0.5}), lower, upper, true, &gen2), {2, 0.5});
}

TEST(Rrelu, SlopesDependOnlyOnGeneratorState) {
  // Each element draws whatever its sign, so flipping one element's sign leaves the others' slopes alone.
  Generator a(3), b(3);
  const std::vector<double> ya = rrelu(doubles({-1, -1, -1, -1}), 0.1, 0.3, true, &a).to_vector();
  const std::vector<double> yb = rrelu(doubles({-1, 5, -1, -1}), 0.1, 0.3, true, &b).to_vector();
  EXPECT_EQ(ya[0], yb[0]);
  EXPECT_EQ(yb[1], 5);
  EXPECT_EQ(ya[2], yb[2]);
  EXPECT_EQ(ya[3], yb[3]);
}

// ---- gradient checks ----

TEST(GradCheck, Relu) {
  expect_gradients_match([](const auto& in) { return relu(in[0]); }, {leaf_away_from_zero({3, 4}, 1)});
  // Through a transposed (non-contiguous) view.
  expect_gradients_match([](const auto& in) { return relu(transpose(in[0], 0, 1)); },
                         {leaf_away_from_zero({3, 4}, 2)});
}

TEST(GradCheck, LeakyRelu) {
  expect_gradients_match([](const auto& in) { return leaky_relu(in[0], 0.2); }, {leaf_away_from_zero({2, 5}, 3)});
  expect_gradients_match([](const auto& in) { return leaky_relu(transpose(in[0], 0, 1)); },
                         {leaf_away_from_zero({2, 5}, 4)});
}

TEST(GradCheck, Rrelu) {
  // Training: every call of f reseeds its own generator, so the finite differences see the
  // slopes the analytic backward used.
  expect_gradients_match(
      [](const auto& in) {
        Generator gen(42);
        return rrelu(in[0], 1.0 / 8, 1.0 / 3, true, &gen);
      },
      {leaf_away_from_zero({3, 4}, 5)});
  expect_gradients_match([](const auto& in) { return rrelu(in[0], 0.2, 0.5, false); },
                         {leaf_away_from_zero({3, 4}, 6)});
}

TEST(GradCheck, Sigmoid) {
  expect_gradients_match([](const auto& in) { return sigmoid(in[0]); }, {random_leaf({2, 3, 2}, 7, -4, 4)});
}

TEST(GradCheck, Tanh) {
  expect_gradients_match([](const auto& in) { return tanh(in[0]); }, {random_leaf({2, 3}, 8, -2, 2)});
  expect_gradients_match([](const auto& in) { return tanh(transpose(in[0], 0, 1)); },
                         {random_leaf({2, 3}, 9, -2, 2)});
}

TEST(Gelu, TanhFormInFloatTracksTheTextbookFormula) {
  // The float kernel computes x * sigmoid(2u) through exp_float; the textbook
  // 0.5 x (1 + tanh u) in double is the yardstick, far into both tails.
  std::vector<double> xs;
  for (int i = -3000; i <= 3000; ++i) xs.push_back(i * 0.01);
  Tensor x = Tensor::from_vector(xs, {static_cast<std::int64_t>(xs.size())}, DType::Float32);
  x.set_requires_grad(true);
  Tensor y = gelu(x, GeluApproximation::Tanh);
  y.backward(Tensor::ones(y.shape()));
  const std::vector<double> value = y.to_vector(), slope = x.grad().to_vector();
  const double k = std::sqrt(2.0 / std::acos(-1.0));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double v = static_cast<float>(xs[i]);
    const double t = std::tanh(k * (v + 0.044715 * v * v * v));
    const double expected = 0.5 * v * (1 + t);
    const double expected_slope = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
    EXPECT_NEAR(value[i], expected, 1e-6 * (1 + std::abs(expected))) << "x = " << v;
    EXPECT_NEAR(slope[i], expected_slope, 1e-6 * (1 + std::abs(expected_slope))) << "x = " << v;
  }
}

TEST(GradCheck, GeluExact) {
  expect_gradients_match([](const auto& in) { return gelu(in[0]); }, {random_leaf({3, 4}, 10, -3, 3)});
}

TEST(GradCheck, GeluTanh) {
  expect_gradients_match([](const auto& in) { return gelu(in[0], GeluApproximation::Tanh); },
                         {random_leaf({3, 4}, 11, -3, 3)});
}

TEST(GradCheck, Softplus) {
  expect_gradients_match([](const auto& in) { return softplus(in[0]); }, {random_leaf({3, 4}, 12, -5, 5)});
  // beta = 2, threshold = 3: values on both sides of the switch at x = 1.5, none at it.
  expect_gradients_match([](const auto& in) { return softplus(in[0], 2, 3); },
                         {Tensor::from_vector(std::vector<double>{-2, -0.3, 0.4, 1.2, 1.8, 3}, {6}, DType::Float64)
                              .set_requires_grad(true)});
}

// ---- errors ----

TEST(Errors, RreluBoundsNameOpAndValues) {
  expect_error([] { rrelu(Tensor::zeros({2}), 0.5, 0.25, true); }, {"rrelu", "0.5", "0.25"});
}

TEST(Errors, ActivationOfIntegerTensorNamesOpAndDtype) {
  const Tensor idx = Tensor::from_indices({1, 2}, {2});
  expect_error([&] { relu(idx); }, {"relu", "int64"});
  expect_error([&] { gelu(idx); }, {"gelu", "int64"});
}

TEST(Errors, SoftplusBetaZero) {
  expect_error([] { softplus(Tensor::zeros({2}), 0); }, {"softplus", "beta"});
}

}  // namespace
}  // namespace ouro::testing
