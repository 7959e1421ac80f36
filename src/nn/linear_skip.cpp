#include "ouro/nn/linear_skip.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

LinearSkip::LinearSkip(ModulePtr inner, const LinearSkipOptions& options) : inner_(std::move(inner)), options_(options) {
  OURO_CHECK(inner_ != nullptr, "LinearSkip: the inner module is null");
  OURO_CHECK(options.in >= 1 && options.out >= 1, "LinearSkip: in and out must be >= 1, got in=", options.in,
             " out=", options.out);
  add_child("inner", inner_);
  linear_ = std::make_shared<Linear>(
      LinearOptions{.in = options.in, .out = options.out, .dtype = options.dtype, .generator = options.generator});
  add_child("linear", linear_);
}

std::string LinearSkip::config_json() const {
  return nlohmann::json{{"in", options_.in}, {"out", options_.out}}.dump();
}

Tensor LinearSkip::forward(const Tensor& x) {
  OURO_CHECK(x.dim() >= 1 && x.numel() == x.size(0) * options_.in,
             "LinearSkip: expected an input [batch, ...] with ", options_.in, " elements per sample, got ",
             shape_str(x.shape()));
  const Tensor y = inner_->forward(x);
  const Tensor linear = linear_->forward(reshape(x, {x.size(0), options_.in}));
  OURO_CHECK(y.dim() == 2 && y.size(0) == x.size(0) && y.size(1) == options_.out, "LinearSkip: the inner module (",
             inner_->type_name(), ") must map ", shape_str(x.shape()), " to [", x.size(0), ", ", options_.out,
             "], got ", shape_str(y.shape()));
  return add(y, linear);
}

namespace {

// Solves a x = b for a symmetric positive definite a (n x n, row-major) by Cholesky.
// A pivot below 1e-10 of the largest diagonal entry counts as singular: rounding must not pass
// for a solution.
std::vector<double> cholesky_solve(std::vector<double> a, std::vector<double> b, std::size_t n) {
  double largest = 0;
  for (std::size_t j = 0; j < n; ++j) largest = std::max(largest, a[j * n + j]);
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    OURO_CHECK(d > 1e-10 * largest, "LinearSkip::fit_least_squares: the normal equations are singular (inputs linearly "
                      "dependent or too few samples); use a ridge > 0");
    a[j * n + j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {  // L z = b
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {  // L^T x = z
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[k * n + i] * b[k];
    b[i] = s / a[i * n + i];
  }
  return b;
}

}  // namespace

void LinearSkip::fit_least_squares(const Tensor& inputs, const Tensor& targets, double ridge) {
  const std::int64_t in = options_.in, out = options_.out;
  OURO_CHECK(inputs.dim() >= 1 && inputs.size(0) >= 1 && inputs.numel() == inputs.size(0) * in,
             "LinearSkip::fit_least_squares: expected inputs [N, ...] with ", in, " elements per sample, got ",
             shape_str(inputs.shape()));
  const std::int64_t N = inputs.size(0);
  OURO_CHECK(targets.numel() == N * out && targets.size(0) == N, "LinearSkip::fit_least_squares: expected targets [",
             N, ", ", out, "], got ", shape_str(targets.shape()));
  OURO_CHECK(ridge >= 0, "LinearSkip::fit_least_squares: ridge must be >= 0, got ", ridge);
  const std::vector<double> x = inputs.to_vector(), t = targets.to_vector();
  // Regressors (1, x_1..x_in): the intercept first, so it stays out of the ridge penalty.
  const std::size_t k = static_cast<std::size_t>(in) + 1;
  std::vector<double> xtx(k * k, 0.0);
  std::vector<std::vector<double>> xty(static_cast<std::size_t>(out), std::vector<double>(k, 0.0));
  std::vector<double> row(k);
  for (std::int64_t n = 0; n < N; ++n) {
    row[0] = 1;
    for (std::int64_t i = 0; i < in; ++i) row[static_cast<std::size_t>(i) + 1] = x[static_cast<std::size_t>(n * in + i)];
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) xtx[i * k + j] += row[i] * row[j];
      for (std::int64_t o = 0; o < out; ++o) xty[static_cast<std::size_t>(o)][i] += row[i] * t[static_cast<std::size_t>(n * out + o)];
    }
  }
  for (std::size_t i = 1; i < k; ++i) xtx[i * k + i] += ridge;
  std::vector<double> weight(static_cast<std::size_t>(out * in)), bias(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) {
    const std::vector<double> c = cholesky_solve(xtx, xty[static_cast<std::size_t>(o)], k);
    bias[static_cast<std::size_t>(o)] = c[0];
    for (std::int64_t i = 0; i < in; ++i) weight[static_cast<std::size_t>(o * in + i)] = c[static_cast<std::size_t>(i) + 1];
  }
  NoGradGuard no_grad;
  linear_->weight().copy_from_(Tensor::from_vector(weight, {out, in}, linear_->weight().dtype()));
  linear_->bias().copy_from_(Tensor::from_vector(bias, {out}, linear_->bias().dtype()));
}

}  // namespace ouro
