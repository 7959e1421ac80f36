// Feature scalers for [N, F] float tensors, fitted on the training split only and then applied
// unchanged to validation/test data; their statistics export as tensors for checkpoints.
#pragma once
#include <map>
#include <string>

#include "ouro/tensor/tensor.h"

namespace ouro {

// (x - mean) / std per feature, with the population std (ddof = 0) as scikit-learn's
// StandardScaler; a constant feature (std 0) gets std 1, so it maps to 0 instead of NaN.
class StandardScaler {
 public:
  StandardScaler& fit(const Tensor& x);
  Tensor transform(const Tensor& x) const;  // same dtype and shape as x; no graph recorded
  Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
  Tensor inverse_transform(const Tensor& x) const;

  bool fitted() const { return mean_.defined(); }
  const Tensor& mean() const { return mean_; }    // float64 [F]
  const Tensor& scale() const { return scale_; }  // float64 [F], the std with 0 replaced by 1
  // {"mean", "scale"}: float64 [F] each.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  Tensor mean_, scale_;
};

// Maps each feature's training [min, max] linearly onto [low, high] (scikit-learn's
// MinMaxScaler, feature_range = (low, high)); a constant feature is treated as having range 1.
// Values outside the training range map outside [low, high]: nothing is clipped.
class MinMaxScaler {
 public:
  explicit MinMaxScaler(double low = 0.0, double high = 1.0);
  MinMaxScaler& fit(const Tensor& x);
  Tensor transform(const Tensor& x) const;
  Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
  Tensor inverse_transform(const Tensor& x) const;

  bool fitted() const { return data_min_.defined(); }
  double low() const { return low_; }
  double high() const { return high_; }
  const Tensor& data_min() const { return data_min_; }  // float64 [F]
  const Tensor& data_max() const { return data_max_; }  // float64 [F]
  // {"data_min", "data_max"}: float64 [F]; "feature_range": float64 [2] = {low, high}.
  std::map<std::string, Tensor> state_dict() const;
  void load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  double low_, high_;
  Tensor data_min_, data_max_;
};

}  // namespace ouro
