// Linear autoregression AR(p) with intercept, fitted by least squares: the classical baseline
// a series forecaster must beat. y[t] = c0 + c1 y[t-1] + ... + cp y[t-p] + e[t]; the order can
// be chosen by AIC; multi-step forecasts feed each prediction back (closed loop), as the
// recurrent forecasters do.
#pragma once
#include <cstddef>
#include <vector>

namespace ouro {

struct AutoRegression {
  std::vector<double> coefficients;  // intercept first, then the lags 1..p
  double residual_variance = 0;      // mean squared one-step residual on the fitted targets

  std::size_t order() const { return coefficients.empty() ? 0 : coefficients.size() - 1; }

  // Least squares on the targets y[t], t = first .. end (first >= p; 0 means p), in double.
  // Errors name the order and the series length when there are too few targets.
  static AutoRegression fit(const std::vector<double>& y, std::size_t p, std::size_t first = 0);
  // The order in 1..max_p minimising AIC = n log(residual variance) + 2 (p + 1), every order
  // fitted on the same targets (t >= max_p) so the criteria compare like with like.
  static std::size_t choose_order_aic(const std::vector<double>& y, std::size_t max_p);

  // The next `horizon` values after `history` (at least p values), each fed back as a lag.
  std::vector<double> forecast(const std::vector<double>& history, std::size_t horizon) const;
};

}  // namespace ouro
