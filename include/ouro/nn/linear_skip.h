// LinearSkip: y = inner(x) + Linear(flatten(x)) — a nonlinear model with a linear "highway"
// from its whole input to its output, added to what the nonlinear model says.
//
// For forecasting this is the hybrid of a linear autoregression and a recurrent network
// (Zhang 2003, "Time series forecasting using a hybrid ARIMA and neural network model";
// the autoregressive component of LSTNet, Lai et al. 2018): the linear path carries the
// part of the dynamics an AR(W) model captures — and extrapolates to levels the training
// data never reached, where a tanh network saturates — while the recurrent path learns the
// nonlinear remainder. The linear path can start from its least-squares fit (the AR model
// itself), so training starts at the linear baseline and the network adds to it.
#pragma once
#include <cstdint>

#include "ouro/nn/linear.h"
#include "ouro/nn/module.h"
#include "ouro/tensor/random.h"

namespace ouro {

struct LinearSkipOptions {
  std::int64_t in = 0;   // elements per sample of the input, flattened (e.g. window * features)
  std::int64_t out = 0;  // features of the output (must match inner's output)
  DType dtype = DType::Float32;
  Generator* generator = nullptr;  // initial weights of the linear path; the default generator when null
};

class LinearSkip : public Module {
 public:
  LinearSkip(ModulePtr inner, const LinearSkipOptions& options);
  std::string type_name() const override { return "LinearSkip"; }
  std::string config_json() const override;
  using Module::forward;
  // x [B, ...] with in elements per sample -> inner(x) + linear(flatten(x)), [B, out].
  Tensor forward(const Tensor& x) override;

  Module& inner() const { return *inner_; }
  Linear& linear() const { return *linear_; }

  // Sets the linear path to the ridge-regularised least-squares fit of targets [N, out] on
  // inputs [N, ...] (in elements per sample), with an intercept: minimises
  // |inputs w^T + b - targets|^2 + ridge |w|^2 (the intercept unpenalised), solved in double.
  void fit_least_squares(const Tensor& inputs, const Tensor& targets, double ridge = 0);

 private:
  ModulePtr inner_;
  std::shared_ptr<Linear> linear_;
  LinearSkipOptions options_;
};

}  // namespace ouro
