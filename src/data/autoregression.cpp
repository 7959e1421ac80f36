#include "ouro/data/autoregression.h"

#include <cmath>
#include <limits>

#include "ouro/core/error.h"
#include "ouro/data/linear_solve.h"

namespace ouro {

AutoRegression AutoRegression::fit(const std::vector<double>& y, std::size_t p, std::size_t first) {
  OURO_CHECK(p >= 1, "AutoRegression::fit: the order p must be >= 1, got ", p);
  if (first == 0) first = p;
  // y.size() >= first + p + 1, written so that a huge p or first cannot wrap the sum around.
  OURO_CHECK(first >= p && first <= y.size() && y.size() - first > p, "AutoRegression::fit: an AR(", p,
             ") from target ", first, " needs more than first + p values, the series has ", y.size());
  const std::size_t k = p + 1;
  std::vector<double> xtx(k * k, 0.0), xty(k, 0.0);
  auto regressor = [&](std::size_t t, std::size_t j) { return j == 0 ? 1.0 : y[t - j]; };
  for (std::size_t t = first; t < y.size(); ++t)
    for (std::size_t i = 0; i < k; ++i) {
      xty[i] += regressor(t, i) * y[t];
      for (std::size_t j = 0; j < k; ++j) xtx[i * k + j] += regressor(t, i) * regressor(t, j);
    }
  AutoRegression model;
  model.coefficients = solve_linear_system(xtx, xty, "AutoRegression::fit (is the series constant?)");
  double sse = 0;
  for (std::size_t t = first; t < y.size(); ++t) {
    double f = model.coefficients[0];
    for (std::size_t j = 1; j <= p; ++j) f += model.coefficients[j] * y[t - j];
    sse += (y[t] - f) * (y[t] - f);
  }
  model.residual_variance = sse / static_cast<double>(y.size() - first);
  return model;
}

std::size_t AutoRegression::choose_order_aic(const std::vector<double>& y, std::size_t max_p) {
  OURO_CHECK(max_p >= 1, "AutoRegression::choose_order_aic: max_p must be >= 1, got ", max_p);
  std::size_t best = 1;
  double best_aic = std::numeric_limits<double>::infinity();
  const double n = static_cast<double>(y.size()) - static_cast<double>(max_p);
  for (std::size_t p = 1; p <= max_p; ++p) {
    const double aic = n * std::log(fit(y, p, max_p).residual_variance) + 2.0 * static_cast<double>(p + 1);
    if (aic < best_aic) best_aic = aic, best = p;
  }
  return best;
}

std::vector<double> AutoRegression::forecast(const std::vector<double>& history, std::size_t horizon) const {
  const std::size_t p = order();
  OURO_CHECK(p >= 1, "AutoRegression::forecast: the model has no coefficients (fit it first)");
  // The whole path is held in memory; 2^32 steps (32 GiB of doubles) is past any real use.
  OURO_CHECK(horizon <= (std::size_t{1} << 32), "AutoRegression::forecast: horizon ", horizon,
             " is too large (at most 2^32)");
  OURO_CHECK(history.size() >= p, "AutoRegression::forecast: an AR(", p, ") needs at least ", p,
             " past values, got ", history.size());
  std::vector<double> path(history.end() - static_cast<std::ptrdiff_t>(p), history.end());
  std::vector<double> out;
  out.reserve(horizon);
  for (std::size_t step = 0; step < horizon; ++step) {
    double f = coefficients[0];
    for (std::size_t j = 1; j <= p; ++j) f += coefficients[j] * path[path.size() - j];
    path.push_back(f);
    out.push_back(f);
  }
  return out;
}

}  // namespace ouro
