// Adam (optionally AMSGrad) with L2 weight decay, and AdamW with decoupled weight decay:
// torch.optim.Adam and torch.optim.AdamW (1.13), defaults included.
#pragma once
#include "ouro/optim/optimizer.h"

namespace ouro {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;    // torch's betas[0]
  double beta2 = 0.999;  // torch's betas[1]
  double eps = 1e-8;
  double weight_decay = 0;  // added to the gradient (L2), before the moments
  bool amsgrad = false;
};

// AdamW's default weight decay is 1e-2, and it is decoupled: p *= 1 - lr * weight_decay.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

// Per-group overrides (ParamGroup::options): "beta1", "beta2", "eps".
// State per parameter: "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled);
  std::vector<std::string> buffer_names(std::size_t group) const override;
  void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<double> beta1_, beta2_, eps_;  // per group
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options = {});
};

}  // namespace ouro
