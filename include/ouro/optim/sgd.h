// SGD with momentum, dampening, Nesterov momentum and L2 weight decay: torch.optim.SGD (1.13).
#pragma once
#include <limits>

#include "ouro/optim/optimizer.h"

namespace ouro {

struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();  // required, as in torch
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0 in every group
};

// Per-group overrides (ParamGroup::options): "momentum", "dampening".
// State per parameter: "momentum_buffer" when the group's momentum is non-zero.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options);
  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<std::string> buffer_names(std::size_t group) const override;
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  SGDOptions options_;
  std::vector<double> momentum_, dampening_;  // per group
};

}  // namespace ouro
