#include "ouro/optim/rmsprop.h"

#include "ouro/core/error.h"
#include "ouro/kernels/cpu/optim.h"

namespace ouro {

RMSProp::RMSProp(std::vector<Tensor> params, const RMSPropOptions& options)
    : RMSProp(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

RMSProp::RMSProp(std::vector<ParamGroup> groups, const RMSPropOptions& options)
    : Optimizer("RMSProp", std::move(groups), options.lr, options.weight_decay, {"alpha", "eps", "momentum"}),
      options_(options) {
  for (std::size_t g = 0; g < this->groups().size(); ++g) {
    const double alpha = group_option(g, "alpha", options.alpha);
    const double eps = group_option(g, "eps", options.eps);
    const double momentum = group_option(g, "momentum", options.momentum);
    OURO_CHECK(alpha >= 0, where(g), "alpha must be >= 0, got ", alpha);
    OURO_CHECK(eps >= 0, where(g), "eps must be >= 0, got ", eps);
    OURO_CHECK(momentum >= 0, where(g), "momentum must be >= 0, got ", momentum);
    alpha_.push_back(alpha);
    eps_.push_back(eps);
    momentum_.push_back(momentum);
  }
}

std::vector<std::string> RMSProp::buffer_names(std::size_t group) const {
  std::vector<std::string> names{"square_avg"};
  if (momentum_[group] > 0) names.push_back("momentum_buffer");
  if (options_.centered) names.push_back("grad_avg");
  return names;
}

void RMSProp::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::RmspropStep s;
  s.lr = lr(group);
  s.alpha = alpha_[group];
  s.eps = eps_[group];
  s.weight_decay = *groups()[group].weight_decay;
  s.momentum = momentum_[group];
  s.centered = options_.centered;
  dispatch_floating(param.dtype(), "RMSProp", [&](auto tag) {
    using T = decltype(tag);
    T* grad_avg = s.centered ? state.buffers.at("grad_avg").data<T>() : nullptr;
    T* momentum = s.momentum > 0 ? state.buffers.at("momentum_buffer").data<T>() : nullptr;
    kernels::rmsprop_update<T>(param.data<T>(), grad.data<T>(), state.buffers.at("square_avg").data<T>(), grad_avg,
                               momentum, param.numel(), s);
  });
}

}  // namespace ouro
