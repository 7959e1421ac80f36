#include <cmath>

#include "gradcheck.h"

namespace ouro::testing {
namespace {

TEST(Forward, DropoutEvalAndEdgeCases) {
  const Tensor x = Tensor::from_vector(std::vector<double>{1, -2, 3, -4}, {2, 2}, DType::Float64);
  EXPECT_TRUE(dropout(x, 0.5, false).same(x)) << "eval is the identity";
  EXPECT_TRUE(dropout(x, 0.0, true).same(x)) << "p = 0 is the identity";
  expect_values(dropout(x, 1.0, true), {0, 0, 0, 0});
}

TEST(Forward, DropoutKeptElementsAreScaled) {
  Generator gen(1);
  const Tensor x = Tensor::full({1000}, 2.0, DType::Float64);
  const std::vector<double> y = dropout(x, 0.75, true, &gen).to_vector();
  std::size_t kept = 0;
  for (double v : y) {
    EXPECT_TRUE(v == 0 || v == 8) << v;  // 2 / (1 - 0.75)
    kept += v != 0;
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 1000u);
}

TEST(Dropout, KeepsAboutOneMinusPAndPreservesMean) {
  const std::int64_t n = 200000;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (double p : {0.1, 0.3, 0.5, 0.9}) {
      Generator gen(7);
      const std::vector<double> y = dropout(Tensor::ones({n}, dtype), p, true, &gen).to_vector();
      double kept = 0, sum = 0;
      for (double v : y) {
        kept += v != 0;
        sum += v;
      }
      // Binomial: the kept fraction's standard deviation is sqrt(p(1-p)/n) <= 0.0012; allow 5 of them.
      EXPECT_NEAR(kept / n, 1 - p, 0.006) << "p = " << p;
      EXPECT_NEAR(sum / n, 1.0, 0.006 / (1 - p)) << "p = " << p;
    }
  }
}

TEST(Dropout, SameSeedSameMaskAndBackwardReusesIt) {
  Generator a(11), b(11);
  Tensor x = Tensor::full({64}, 3.0, DType::Float64);
  x.set_requires_grad(true);
  Tensor y = dropout(x, 0.4, true, &a);
  expect_values(dropout(x.detach(), 0.4, true, &b), y.to_vector(), 0);
  y.backward(Tensor::ones({64}, DType::Float64));
  // With x = 3 everywhere, y / 3 is the mask the backward must apply.
  expect_values(x.grad(), div(y.detach(), 3.0).to_vector(), 1e-15);
  // The default generator is used when none is given.
  manual_seed(5);
  const std::vector<double> first = dropout(x.detach(), 0.4, true).to_vector();
  manual_seed(5);
  expect_values(dropout(x.detach(), 0.4, true), first, 0);
}

TEST(GradCheck, Dropout) {
  // Every call of f reseeds its own generator, so finite differences see the analytic mask.
  expect_gradients_match(
      [](const auto& in) {
        Generator gen(21);
        return dropout(in[0], 0.3, true, &gen);
      },
      {random_leaf({4, 5}, 40)});
  expect_gradients_match(
      [](const auto& in) {
        Generator gen(22);
        return dropout(transpose(in[0], 0, 1), 0.5, true, &gen);
      },
      {random_leaf({3, 4}, 41)});
  expect_gradients_match([](const auto& in) { return mul(dropout(in[0], 0.5, false), 2.0); },
                         {random_leaf({3}, 42)});
}

TEST(Errors, DropoutProbabilityNamesOpAndValue) {
  const Tensor x = Tensor::zeros({2, 3});
  expect_error([&] { dropout(x, 1.5, true); }, {"dropout", "1.5", "[0, 1]"});
  expect_error([&] { dropout(x, -0.25, false); }, {"dropout", "-0.25"});
}

}  // namespace
}  // namespace ouro::testing
