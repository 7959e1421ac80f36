// Finite-difference gradient checking for tests: compares the gradients backward() computes
// with central differences in float64, the way torch.autograd.gradcheck does.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ouro/ouro.h"

namespace ouro::testing {

struct GradCheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

// Float64 leaf of the given shape with values drawn uniformly from [low, high), seeded.
inline Tensor random_leaf(const Shape& shape, std::uint64_t seed, double low = -1.0, double high = 1.0) {
  Generator gen(seed);
  Tensor t = rand(shape, low, high, DType::Float64, &gen);
  t.set_requires_grad(true);
  return t;
}

// Checks d(sum(w * f(inputs)))/d(input) for every input that requires grad, where w is a fixed
// random weighting (so every output element matters, with a different weight).
inline void expect_gradients_match(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                   std::vector<Tensor> inputs, GradCheckOptions options = {}) {
  for (Tensor& t : inputs) {
    ASSERT_EQ(t.dtype(), DType::Float64) << "gradient checks run in float64";
    ASSERT_TRUE(t.is_contiguous());
    t.zero_grad();
  }
  Tensor out = f(inputs);
  ASSERT_EQ(out.dtype(), DType::Float64);
  Generator gen(1234);
  const Tensor weights = rand(out.shape(), 0.5, 1.5, DType::Float64, &gen);
  const std::vector<double> w = weights.to_vector();
  auto objective = [&]() {
    NoGradGuard no_grad;
    const std::vector<double> y = f(inputs).to_vector();
    double total = 0;
    for (std::size_t i = 0; i < y.size(); ++i) total += w[i] * y[i];
    return total;
  };
  out.backward(weights);

  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " received no gradient";
    const std::vector<double> analytic = x.grad().to_vector();
    double* data = x.data<double>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double saved = data[i];
      data[i] = saved + options.eps;
      const double plus = objective();
      data[i] = saved - options.eps;
      const double minus = objective();
      data[i] = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      EXPECT_NEAR(analytic[i], numeric, options.atol + options.rtol * std::abs(numeric))
          << "input " << k << ", element " << i;
    }
  }
}

inline void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  const std::vector<double> got = t.to_vector();
  ASSERT_EQ(got.size(), expected.size()) << t.describe();
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << "element " << i;
}

// Expects `body` to throw ouro::Error whose message contains every fragment.
template <typename Body>
void expect_error(Body&& body, const std::vector<std::string>& fragments) {
  try {
    body();
    ADD_FAILURE() << "expected ouro::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message << "\nmissing: " << fragment;
  }
}

}  // namespace ouro::testing
