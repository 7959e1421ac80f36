// AutoRegression: least squares recovers a simulated AR(2)'s coefficients, AIC picks its
// order, closed-loop forecasts follow the recursion, and short series are refused by name.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "ouro/data/autoregression.h"
#include "ouro/ouro.h"

namespace ouro {
namespace {

// y[t] = 2 + 1.3 y[t-1] - 0.6 y[t-2] + e[t], e uniform on [-sqrt 3, sqrt 3) (variance 1), seeded.
std::vector<double> simulated_ar2(std::size_t n) {
  Generator gen(17);
  const std::vector<double> noise =
      rand({static_cast<std::int64_t>(n)}, -std::sqrt(3.0), std::sqrt(3.0), DType::Float64, &gen).to_vector();
  std::vector<double> y{6.0, 6.0};
  for (std::size_t t = 2; t < n; ++t) y.push_back(2 + 1.3 * y[t - 1] - 0.6 * y[t - 2] + noise[t]);
  return y;
}

TEST(AutoRegression, LeastSquaresRecoversASimulatedAr2AndAicPicksItsOrder) {
  const std::vector<double> y = simulated_ar2(4000);
  const AutoRegression ar = AutoRegression::fit(y, 2);
  ASSERT_EQ(ar.order(), 2u);
  EXPECT_NEAR(ar.coefficients[0], 2.0, 0.15);
  EXPECT_NEAR(ar.coefficients[1], 1.3, 0.03);
  EXPECT_NEAR(ar.coefficients[2], -0.6, 0.03);
  EXPECT_NEAR(ar.residual_variance, 1.0, 0.06);
  EXPECT_EQ(AutoRegression::choose_order_aic(y, 8), 2u);
}

TEST(AutoRegression, ForecastFeedsPredictionsBack) {
  AutoRegression ar;
  ar.coefficients = {1.0, 0.5, -0.25};
  const std::vector<double> f = ar.forecast({7, 2, 4}, 3);
  const double f1 = 1 + 0.5 * 4 - 0.25 * 2, f2 = 1 + 0.5 * f1 - 0.25 * 4, f3 = 1 + 0.5 * f2 - 0.25 * f1;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(f[0], f1);
  EXPECT_DOUBLE_EQ(f[1], f2);
  EXPECT_DOUBLE_EQ(f[2], f3);
}

TEST(AutoRegression, ErrorsNameTheOrderAndLength) {
  testing::expect_error([] { AutoRegression::fit({1, 2, 3, 4}, 3); }, {"AR(3)", "the series has 4"});
  testing::expect_error([] { AutoRegression::fit({1, 2, 3}, 0); }, {"order p", ">= 1"});
  AutoRegression ar;
  ar.coefficients = {0, 1, 1};
  testing::expect_error([&] { ar.forecast({1}, 2); }, {"AR(2)", "at least 2", "got 1"});
}

TEST(AutoRegression, HugeOrdersStartsAndHorizonsAreErrors) {
  const std::vector<double> y = {1, 3, 2, 5, 4, 6, 5, 8};
  const std::size_t huge = static_cast<std::size_t>(-1);
  // first + p used to wrap around and pass the length check.
  testing::expect_error([&] { AutoRegression::fit(y, 1, huge); }, {"AR(1) from target 18446744073709551615", "has 8"});
  testing::expect_error([&] { AutoRegression::fit(y, huge); }, {"needs more than first + p values"});
  testing::expect_error([&] { AutoRegression::choose_order_aic(y, huge / 2); }, {"the series has 8"});
  testing::expect_error([&] { AutoRegression{}.forecast(y, 3); }, {"no coefficients"});
  const AutoRegression ar = AutoRegression::fit(y, 1);
  testing::expect_error([&] { ar.forecast(y, huge); }, {"horizon 18446744073709551615 is too large"});
  EXPECT_TRUE(ar.forecast(y, 0).empty());
}

}  // namespace
}  // namespace ouro
