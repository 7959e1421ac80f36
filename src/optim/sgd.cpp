#include "ouro/optim/sgd.h"

#include "ouro/core/error.h"
#include "ouro/kernels/cpu/optim.h"

namespace ouro {

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay, {"momentum", "dampening"}),
      options_(options) {
  for (std::size_t g = 0; g < this->groups().size(); ++g) {
    const double momentum = group_option(g, "momentum", options.momentum);
    const double dampening = group_option(g, "dampening", options.dampening);
    OURO_CHECK(momentum >= 0, where(g), "momentum must be >= 0, got ", momentum);
    OURO_CHECK(!options.nesterov || (momentum > 0 && dampening == 0), where(g),
               "nesterov momentum needs momentum > 0 and dampening == 0, got momentum ", momentum, " and dampening ",
               dampening);
    momentum_.push_back(momentum);
    dampening_.push_back(dampening);
  }
}

std::vector<std::string> SGD::buffer_names(std::size_t group) const {
  if (momentum_[group] != 0) return {"momentum_buffer"};
  return {};
}

void SGD::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::SgdStep s;
  s.lr = lr(group);
  s.momentum = momentum_[group];
  s.dampening = dampening_[group];
  s.weight_decay = *groups()[group].weight_decay;
  s.nesterov = options_.nesterov;
  s.first_step = state.step == 1;
  dispatch_floating(param.dtype(), "SGD", [&](auto tag) {
    using T = decltype(tag);
    T* buffer = s.momentum != 0 ? state.buffers.at("momentum_buffer").data<T>() : nullptr;
    kernels::sgd_update<T>(param.data<T>(), grad.data<T>(), buffer, param.numel(), s);
  });
}

}  // namespace ouro
