// RMSProp (optionally centered, optionally with momentum) with L2 weight decay:
// torch.optim.RMSprop (1.13), defaults included.
#pragma once
#include "ouro/optim/optimizer.h"

namespace ouro {

struct RMSPropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // smoothing of the squared-gradient average
  double eps = 1e-8;    // added to the root, outside it
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;  // divide by an estimate of the gradient's variance instead of its second moment
};

// Per-group overrides (ParamGroup::options): "alpha", "eps", "momentum".
// State per parameter: "square_avg"; "momentum_buffer" when momentum > 0; "grad_avg" when centered.
class RMSProp : public Optimizer {
 public:
  RMSProp(std::vector<Tensor> params, const RMSPropOptions& options = {});
  RMSProp(std::vector<ParamGroup> groups, const RMSPropOptions& options = {});
  const RMSPropOptions& options() const { return options_; }

 protected:
  std::vector<std::string> buffer_names(std::size_t group) const override;
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  RMSPropOptions options_;
  std::vector<double> alpha_, eps_, momentum_;  // per group
};

}  // namespace ouro
