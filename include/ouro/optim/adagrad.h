// Adagrad with learning-rate decay and L2 weight decay: torch.optim.Adagrad (1.13), defaults included.
#pragma once
#include "ouro/optim/optimizer.h"

namespace ouro {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;  // step t uses lr / (1 + (t - 1) * lr_decay)
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
};

// Per-group overrides (ParamGroup::options): "lr_decay", "eps", "initial_accumulator_value".
// State per parameter: "sum" (of squared gradients, starting at initial_accumulator_value).
class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options = {});
  const AdagradOptions& options() const { return options_; }

 protected:
  std::vector<std::string> buffer_names(std::size_t group) const override;
  double buffer_initial_value(std::size_t group, const std::string& buffer) const override;
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  AdagradOptions options_;
  std::vector<double> lr_decay_, eps_, initial_;  // per group
};

}  // namespace ouro
