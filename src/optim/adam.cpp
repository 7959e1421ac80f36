#include "ouro/optim/adam.h"

#include "ouro/core/error.h"
#include "ouro/kernels/cpu/optim.h"

namespace ouro {

namespace {
AdamOptions as_adam(const AdamWOptions& o) {
  return AdamOptions{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay,
                     .amsgrad = o.amsgrad};
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam("Adam", std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay, {"beta1", "beta2", "eps"}),
      options_(options),
      decoupled_(decoupled) {
  for (std::size_t g = 0; g < this->groups().size(); ++g) {
    const double beta1 = group_option(g, "beta1", options.beta1);
    const double beta2 = group_option(g, "beta2", options.beta2);
    const double eps = group_option(g, "eps", options.eps);
    OURO_CHECK(beta1 >= 0 && beta1 < 1, where(g), "beta1 must be in [0, 1), got ", beta1);
    OURO_CHECK(beta2 >= 0 && beta2 < 1, where(g), "beta2 must be in [0, 1), got ", beta2);
    OURO_CHECK(eps >= 0, where(g), "eps must be >= 0, got ", eps);
    beta1_.push_back(beta1);
    beta2_.push_back(beta2);
    eps_.push_back(eps);
  }
}

std::vector<std::string> Adam::buffer_names(std::size_t) const {
  if (options_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

void Adam::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::AdamStep s;
  s.lr = lr(group);
  s.beta1 = beta1_[group];
  s.beta2 = beta2_[group];
  s.eps = eps_[group];
  s.weight_decay = *groups()[group].weight_decay;
  s.step = static_cast<double>(state.step);
  s.decoupled = decoupled_;
  s.amsgrad = options_.amsgrad;
  dispatch_floating(param.dtype(), name(), [&](auto tag) {
    using T = decltype(tag);
    T* max_sq = s.amsgrad ? state.buffers.at("max_exp_avg_sq").data<T>() : nullptr;
    kernels::adam_update<T>(param.data<T>(), grad.data<T>(), state.buffers.at("exp_avg").data<T>(),
                            state.buffers.at("exp_avg_sq").data<T>(), max_sq, param.numel(), s);
  });
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam("AdamW", std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, as_adam(options), true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Adam("AdamW", std::move(groups), as_adam(options), true) {}

}  // namespace ouro
