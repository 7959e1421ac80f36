#include <cmath>

#include "fixture.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

Tensor optional_fixture(const nlohmann::json& c, const char* key, DType dtype = DType::Float64) {
  return c.contains(key) ? fixture_tensor(c.at(key), dtype) : Tensor();
}

TEST(Forward, LayerNormMatchesPyTorch) {
  const auto fixtures = load_fixture("activation_fixtures.json");
  ASSERT_EQ(fixtures.at("layer_norm").size(), 3u);
  for (const auto& c : fixtures.at("layer_norm")) {
    const Shape normalized = c.at("normalized_shape").get<Shape>();
    const double eps = c.at("eps").get<double>();
    Tensor x = fixture_tensor(c.at("input"));
    Tensor w = optional_fixture(c, "weight"), b = optional_fixture(c, "bias");
    SCOPED_TRACE(x.describe() + " over " + shape_str(normalized) + (w.defined() ? " with weight and bias" : ""));
    x.set_requires_grad(true);
    if (w.defined()) {
      w.set_requires_grad(true);
      b.set_requires_grad(true);
    }
    Tensor y = layer_norm(x, normalized, w, b, eps);
    expect_values(y, fixture_tensor(c.at("output")).to_vector(), 1e-12);
    y.backward(fixture_tensor(c.at("grad_output")));
    expect_values(x.grad(), fixture_tensor(c.at("grad_input")).to_vector(), 1e-10);
    if (w.defined()) {
      expect_values(w.grad(), fixture_tensor(c.at("grad_weight")).to_vector(), 1e-12);
      expect_values(b.grad(), fixture_tensor(c.at("grad_bias")).to_vector(), 1e-12);
    }
  }
}

TEST(LayerNorm, Float32CloseToFloat64) {
  Generator gen(8);
  const Tensor x = randn({6, 33}, 3, 2, DType::Float64, &gen);
  const Tensor w = randn({33}, 1, 0.5, DType::Float64, &gen);
  const Tensor b = randn({33}, 0, 1, DType::Float64, &gen);
  const Tensor g = randn({6, 33}, 0, 1, DType::Float64, &gen);
  std::vector<std::vector<double>> results[2];
  for (int k = 0; k < 2; ++k) {
    const DType dtype = k == 0 ? DType::Float64 : DType::Float32;
    Tensor xs = x.to(dtype), ws = w.to(dtype), bs = b.to(dtype);
    for (Tensor* t : {&xs, &ws, &bs}) t->set_requires_grad(true);
    Tensor y = layer_norm(xs, {33}, ws, bs);
    y.backward(g.to(dtype));
    results[k] = {y.to_vector(), xs.grad().to_vector(), ws.grad().to_vector(), bs.grad().to_vector()};
  }
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i == 0 ? "output" : i == 1 ? "grad x" : i == 2 ? "grad weight" : "grad bias");
    expect_values(Tensor::from_vector(results[1][i], {static_cast<std::int64_t>(results[1][i].size())}, DType::Float64),
                  results[0][i], 2e-5);
  }
}

TEST(LayerNorm, NormalizesEachRow) {
  // Rows of a large common offset: a one-pass E[x^2] - E[x]^2 variance would lose them.
  const Tensor x = Tensor::from_vector(std::vector<double>{1e6 + 1, 1e6 + 2, 1e6 + 3, -4, 0, 4}, {2, 3}, DType::Float64);
  const double r = 1 / std::sqrt(2.0 / 3 + 1e-5), r8 = 1 / std::sqrt(32.0 / 3 + 1e-5);
  expect_values(layer_norm(x, {3}), {-r, 0, r, -4 * r8, 0, 4 * r8}, 1e-9);
}

TEST(LayerNorm, SameResultForEveryThreadCount) {
  Generator gen(9);
  const Tensor x = randn({500, 96}, 0, 1, DType::Float32, &gen);
  const Tensor w = randn({96}, 1, 0.1, DType::Float32, &gen);
  const Tensor b = randn({96}, 0, 0.1, DType::Float32, &gen);
  const Tensor g = randn({500, 96}, 0, 1, DType::Float32, &gen);
  const int saved = num_threads();
  std::vector<std::vector<std::vector<float>>> runs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Tensor xs = x.copy(), ws = w.copy(), bs = b.copy();
    for (Tensor* t : {&xs, &ws, &bs}) t->set_requires_grad(true);
    Tensor y = layer_norm(xs, {96}, ws, bs);
    y.backward(g);
    runs.push_back({y.to_float_vector(), xs.grad().to_float_vector(), ws.grad().to_float_vector(),
                    bs.grad().to_float_vector()});
  }
  set_num_threads(saved);
  EXPECT_EQ(runs[1], runs[0]);
  EXPECT_EQ(runs[2], runs[0]);
}

TEST(GradCheck, LayerNorm) {
  expect_gradients_match([](const auto& in) { return layer_norm(in[0], {3, 4}, in[1], in[2]); },
                         {random_leaf({2, 3, 4}, 30), random_leaf({3, 4}, 31, 0.5, 1.5), random_leaf({3, 4}, 32)});
  expect_gradients_match([](const auto& in) { return layer_norm(in[0], {4}); }, {random_leaf({3, 4}, 33)});
  expect_gradients_match([](const auto& in) { return layer_norm(in[0], {5}, in[1], Tensor(), 1e-3); },
                         {random_leaf({2, 5}, 34), random_leaf({5}, 35)});
  // A transposed (non-contiguous) input, normalized over its last dimension.
  expect_gradients_match([](const auto& in) { return layer_norm(transpose(in[0], 0, 1), {3}, in[1], in[2]); },
                         {random_leaf({3, 4}, 36), random_leaf({3}, 37), random_leaf({3}, 38)});
}

TEST(Errors, LayerNormShapesNameOpAndShapes) {
  const Tensor x = Tensor::zeros({2, 3, 4});
  expect_error([&] { layer_norm(x, {3, 5}); }, {"layer_norm", "[3, 5]", "[2, 3, 4]"});
  expect_error([&] { layer_norm(x, {1, 2, 3, 4}); }, {"layer_norm", "[1, 2, 3, 4]", "[2, 3, 4]"});
  expect_error([&] { layer_norm(x, {4}, Tensor::ones({3})); }, {"layer_norm", "weight", "[3]", "[4]"});
  expect_error([&] { layer_norm(x, {4}, Tensor(), Tensor::ones({4}, DType::Float64)); },
               {"layer_norm", "bias", "float64", "float32"});
}

TEST(Errors, LayerNormModuleRejectsABadEpsAtConstruction) {
  expect_error([] { LayerNorm({4}, -1e-5); }, {"LayerNorm", "eps", "-1e-05"});
  expect_error([] { LayerNorm({4}, NAN); }, {"LayerNorm", "eps", "nan"});
  expect_error([] { LayerNorm({-4}); }, {"[-4]", ">= 0"});
}

}  // namespace
}  // namespace ouro::testing
