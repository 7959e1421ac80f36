#include <cmath>

#include "fixture.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

// Softmax along `dim` by plain loops over x's values, the oracle for layouts the fixture lacks.
std::vector<double> naive_softmax(const Tensor& x, std::int64_t dim, bool log) {
  const Shape& s = x.shape();
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t i = 0; i < dim; ++i) outer *= s[i];
  for (std::int64_t i = dim + 1; i < x.dim(); ++i) inner *= s[i];
  const std::int64_t n = s[dim];
  const std::vector<double> v = x.to_vector();
  std::vector<double> out(v.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < inner; ++c) {
      auto at = [&](std::int64_t j) { return static_cast<std::size_t>((o * n + j) * inner + c); };
      double max = v[at(0)], sum = 0;
      for (std::int64_t j = 1; j < n; ++j) max = std::max(max, v[at(j)]);
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(v[at(j)] - max);
      for (std::int64_t j = 0; j < n; ++j)
        out[at(j)] = log ? v[at(j)] - max - std::log(sum) : std::exp(v[at(j)] - max) / sum;
    }
  return out;
}

void expect_matches_pytorch(const char* key, Tensor (*op)(const Tensor&, std::int64_t)) {
  const auto fixtures = load_fixture("activation_fixtures.json");
  ASSERT_FALSE(fixtures.at(key).empty());
  for (const auto& c : fixtures.at(key)) {
    const std::int64_t dim = c.at("dim").get<std::int64_t>();
    Tensor x = fixture_tensor(c.at("input"));
    SCOPED_TRACE(std::string(key) + " of " + x.describe() + " along " + std::to_string(dim));
    x.set_requires_grad(true);
    Tensor y = op(x, dim);
    expect_values(y, fixture_tensor(c.at("output")).to_vector(), 1e-12);
    y.backward(fixture_tensor(c.at("grad_output")));
    expect_values(x.grad(), fixture_tensor(c.at("grad_input")).to_vector(), 1e-12);
    expect_values(op(fixture_tensor(c.at("input"), DType::Float32), dim), fixture_tensor(c.at("output")).to_vector(),
                  1e-5);
  }
}

TEST(Forward, SoftmaxMatchesPyTorch) { expect_matches_pytorch("softmax", softmax); }

TEST(Forward, LogSoftmaxMatchesPyTorch) { expect_matches_pytorch("log_softmax", log_softmax); }

TEST(Softmax, WideInnerDimensionMatchesLoops) {
  // inner = 130 spans several column blocks of the kernel, the last one partial.
  Generator gen(3);
  const Tensor x = randn({3, 5, 130}, 0, 4, DType::Float64, &gen);
  for (std::int64_t dim : {0, 1, 2}) {
    expect_values(softmax(x, dim), naive_softmax(x, dim, false), 1e-12);
    expect_values(log_softmax(x, dim), naive_softmax(x, dim, true), 1e-12);
  }
}

TEST(Softmax, LargeInputsStayFinite) {
  const Tensor x = Tensor::from_vector(std::vector<double>{1000, 999, 1000, -1000, -999, -1000}, {2, 3}, DType::Float64);
  // Row 0's maximum is 1000 (twice), row 1's is -999 (once).
  const double e = std::exp(-1.0), z0 = 2 + e, z1 = 1 + 2 * e;
  expect_values(softmax(x), {1 / z0, e / z0, 1 / z0, e / z1, 1 / z1, e / z1}, 1e-12);
  expect_values(log_softmax(x), {-std::log(z0), -1 - std::log(z0), -std::log(z0), -1 - std::log(z1), -std::log(z1),
                                 -1 - std::log(z1)},
                1e-12);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor big = Tensor::full({4, 7}, 1000.0, dtype);
    for (double v : softmax(big, 0).to_vector()) EXPECT_NEAR(v, 0.25, 1e-6);
    for (double v : log_softmax(big).to_vector()) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Softmax, ScalarIsOne) {
  expect_values(softmax(Tensor::scalar(3.5, DType::Float64)), {1});
  expect_values(log_softmax(Tensor::scalar(3.5, DType::Float64), 0), {0});
}

TEST(Softmax, SameResultForEveryThreadCount) {
  // Past the parallel grain, so the multi-threaded path runs.
  Generator gen(4);
  const Tensor x = randn({300, 257}, 0, 3, DType::Float32, &gen);
  const Tensor g = randn({300, 257}, 0, 1, DType::Float32, &gen);
  const int saved = num_threads();
  std::vector<std::vector<float>> outputs, grads;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (std::int64_t dim : {0, 1}) {
      Tensor leaf = x.copy();
      leaf.set_requires_grad(true);
      Tensor y = log_softmax(softmax(leaf, dim), 1 - dim);
      y.backward(g);
      outputs.push_back(y.to_float_vector());
      grads.push_back(leaf.grad().to_float_vector());
    }
  }
  set_num_threads(saved);
  for (std::size_t i = 2; i < outputs.size(); ++i) {
    EXPECT_EQ(outputs[i], outputs[i % 2]);
    EXPECT_EQ(grads[i], grads[i % 2]);
  }
}

TEST(GradCheck, Softmax) {
  for (std::int64_t dim : {0, 1, 2, -1})
    expect_gradients_match([dim](const auto& in) { return softmax(in[0], dim); }, {random_leaf({2, 3, 4}, 20, -2, 2)});
  // A transposed (non-contiguous) input, along each of its dimensions.
  for (std::int64_t dim : {0, 1})
    expect_gradients_match([dim](const auto& in) { return softmax(transpose(in[0], 0, 1), dim); },
                           {random_leaf({3, 4}, 21, -2, 2)});
}

TEST(GradCheck, LogSoftmax) {
  for (std::int64_t dim : {0, 1, 2})
    expect_gradients_match([dim](const auto& in) { return log_softmax(in[0], dim); },
                           {random_leaf({2, 3, 4}, 22, -2, 2)});
  expect_gradients_match([](const auto& in) { return log_softmax(transpose(in[0], 0, 1), -1); },
                         {random_leaf({3, 4}, 23, -2, 2)});
  // The same input through both ops: the two backward kernels add into one gradient.
  expect_gradients_match([](const auto& in) { return add(log_softmax(in[0], 1), softmax(in[0], 1)); },
                         {random_leaf({2, 5}, 24, -2, 2)});
}

TEST(Errors, SoftmaxDimOutOfRangeNamesOpAndRank) {
  const Tensor x = Tensor::zeros({2, 3});
  expect_error([&] { softmax(x, 2); }, {"softmax", "2", "rank 2"});
  expect_error([&] { log_softmax(x, -3); }, {"log_softmax", "-3", "rank 2"});
  expect_error([] { softmax(Tensor::from_indices({1, 2}, {2})); }, {"softmax", "int64"});
}

}  // namespace
}  // namespace ouro::testing
