#include "ouro/data/scaler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ouro/core/error.h"

namespace ouro {
namespace {

// x must be a floating [N, F] tensor; with `features` >= 0 F must equal it (the fitted width).
void check_matrix(const Tensor& x, const char* who, std::int64_t features = -1) {
  OURO_CHECK(x.defined(), who, ": expected a float [N, F] tensor, got an undefined tensor");
  OURO_CHECK(x.dim() == 2 && is_floating(x.dtype()), who, ": expected a float [N, F] tensor, got ", x.describe());
  OURO_CHECK(features < 0 || x.size(1) == features, who, ": the scaler was fitted on ", features,
             " features, got ", x.describe());
}

// Applies out = x * a[f] + b[f] per feature, computed in double, keeping x's dtype.
Tensor affine_per_feature(const Tensor& x, const std::vector<double>& a, const std::vector<double>& b) {
  const Tensor source = x.is_contiguous() ? x : x.copy();
  Tensor out = Tensor::empty(source.shape(), source.dtype());
  const std::int64_t n = source.size(0), f = source.size(1);
  dispatch_floating(source.dtype(), "scaler", [&](auto tag) {
    using T = decltype(tag);
    const T* in = source.data<T>();
    T* o = out.data<T>();
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < f; ++j)
        o[i * f + j] = static_cast<T>(static_cast<double>(in[i * f + j]) * a[j] + b[j]);
  });
  return out;
}

Tensor vector_tensor(const std::vector<double>& v) {
  return Tensor::from_vector(v, {static_cast<std::int64_t>(v.size())}, DType::Float64);
}

Tensor state_entry(const std::map<std::string, Tensor>& state, const std::string& key, const char* who,
                   std::int64_t length) {
  const auto it = state.find(key);
  OURO_CHECK(it != state.end() && it->second.defined(), who, ": state has no '", key, "' tensor");
  const Tensor& t = it->second;
  OURO_CHECK(t.dim() == 1 && is_floating(t.dtype()) && (length < 0 || t.size(0) == length), who, ": state '", key,
             "' must be a float vector", length < 0 ? std::string() : " of length " + std::to_string(length), ", got ",
             t.describe());
  return t.to(DType::Float64);
}

}  // namespace

StandardScaler& StandardScaler::fit(const Tensor& x) {
  check_matrix(x, "StandardScaler::fit");
  OURO_CHECK(x.size(0) >= 1, "StandardScaler::fit: needs at least one sample, got ", x.describe());
  const std::int64_t n = x.size(0), f = x.size(1);
  const std::vector<double> v = x.to_vector();
  // Two passes (mean, then squared deviations) in double: one-pass sum-of-squares loses the
  // variance of features whose mean is large next to their spread.
  std::vector<double> mean(static_cast<std::size_t>(f), 0.0), scale(static_cast<std::size_t>(f), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) mean[j] += v[i * f + j];
  for (double& m : mean) m /= static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) scale[j] += (v[i * f + j] - mean[j]) * (v[i * f + j] - mean[j]);
  for (double& s : scale) {
    s = std::sqrt(s / static_cast<double>(n));
    if (s == 0.0) s = 1.0;
  }
  mean_ = vector_tensor(mean);
  scale_ = vector_tensor(scale);
  return *this;
}

Tensor StandardScaler::transform(const Tensor& x) const {
  OURO_CHECK(fitted(), "StandardScaler::transform: call fit (on the training split) first");
  check_matrix(x, "StandardScaler::transform", mean_.size(0));
  const std::vector<double> mean = mean_.to_vector(), scale = scale_.to_vector();
  std::vector<double> a(mean.size()), b(mean.size());
  for (std::size_t j = 0; j < mean.size(); ++j) {
    a[j] = 1.0 / scale[j];
    b[j] = -mean[j] / scale[j];
  }
  return affine_per_feature(x, a, b);
}

Tensor StandardScaler::inverse_transform(const Tensor& x) const {
  OURO_CHECK(fitted(), "StandardScaler::inverse_transform: call fit (on the training split) first");
  check_matrix(x, "StandardScaler::inverse_transform", mean_.size(0));
  return affine_per_feature(x, scale_.to_vector(), mean_.to_vector());
}

std::map<std::string, Tensor> StandardScaler::state_dict() const {
  OURO_CHECK(fitted(), "StandardScaler::state_dict: the scaler is not fitted");
  return {{"mean", mean_.copy()}, {"scale", scale_.copy()}};
}

void StandardScaler::load_state_dict(const std::map<std::string, Tensor>& state) {
  Tensor mean = state_entry(state, "mean", "StandardScaler::load_state_dict", -1);
  Tensor scale = state_entry(state, "scale", "StandardScaler::load_state_dict", mean.size(0));
  for (double s : scale.to_vector())
    OURO_CHECK(s > 0 && std::isfinite(s), "StandardScaler::load_state_dict: every scale must be positive, got ", s);
  mean_ = mean;
  scale_ = scale;
}

MinMaxScaler::MinMaxScaler(double low, double high) : low_(low), high_(high) {
  OURO_CHECK(low < high, "MinMaxScaler: the range must have low < high, got [", low, ", ", high, "]");
}

MinMaxScaler& MinMaxScaler::fit(const Tensor& x) {
  check_matrix(x, "MinMaxScaler::fit");
  OURO_CHECK(x.size(0) >= 1, "MinMaxScaler::fit: needs at least one sample, got ", x.describe());
  const std::int64_t n = x.size(0), f = x.size(1);
  const std::vector<double> v = x.to_vector();
  std::vector<double> lo(v.begin(), v.begin() + f), hi(v.begin(), v.begin() + f);
  for (std::int64_t i = 1; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) {
      lo[j] = std::min(lo[j], v[i * f + j]);
      hi[j] = std::max(hi[j], v[i * f + j]);
    }
  data_min_ = vector_tensor(lo);
  data_max_ = vector_tensor(hi);
  return *this;
}

namespace {
// x_scaled = x * a + b with a = (high - low) / (max - min), b = low - min * a.
void minmax_coefficients(const Tensor& data_min, const Tensor& data_max, double low, double high,
                         std::vector<double>& a, std::vector<double>& b) {
  const std::vector<double> lo = data_min.to_vector(), hi = data_max.to_vector();
  a.resize(lo.size());
  b.resize(lo.size());
  for (std::size_t j = 0; j < lo.size(); ++j) {
    const double range = hi[j] - lo[j] == 0.0 ? 1.0 : hi[j] - lo[j];
    a[j] = (high - low) / range;
    b[j] = low - lo[j] * a[j];
  }
}
}  // namespace

Tensor MinMaxScaler::transform(const Tensor& x) const {
  OURO_CHECK(fitted(), "MinMaxScaler::transform: call fit (on the training split) first");
  check_matrix(x, "MinMaxScaler::transform", data_min_.size(0));
  std::vector<double> a, b;
  minmax_coefficients(data_min_, data_max_, low_, high_, a, b);
  return affine_per_feature(x, a, b);
}

Tensor MinMaxScaler::inverse_transform(const Tensor& x) const {
  OURO_CHECK(fitted(), "MinMaxScaler::inverse_transform: call fit (on the training split) first");
  check_matrix(x, "MinMaxScaler::inverse_transform", data_min_.size(0));
  std::vector<double> a, b;
  minmax_coefficients(data_min_, data_max_, low_, high_, a, b);
  for (std::size_t j = 0; j < a.size(); ++j) {
    b[j] = -b[j] / a[j];
    a[j] = 1.0 / a[j];
  }
  return affine_per_feature(x, a, b);
}

std::map<std::string, Tensor> MinMaxScaler::state_dict() const {
  OURO_CHECK(fitted(), "MinMaxScaler::state_dict: the scaler is not fitted");
  return {{"data_min", data_min_.copy()},
          {"data_max", data_max_.copy()},
          {"feature_range", vector_tensor({low_, high_})}};
}

void MinMaxScaler::load_state_dict(const std::map<std::string, Tensor>& state) {
  const char* who = "MinMaxScaler::load_state_dict";
  Tensor lo = state_entry(state, "data_min", who, -1);
  Tensor hi = state_entry(state, "data_max", who, lo.size(0));
  const std::vector<double> range = state_entry(state, "feature_range", who, 2).to_vector();
  OURO_CHECK(range[0] < range[1], who, ": feature_range must have low < high, got [", range[0], ", ", range[1], "]");
  low_ = range[0];
  high_ = range[1];
  data_min_ = lo;
  data_max_ = hi;
}

}  // namespace ouro
