#include "ouro/optim/adagrad.h"

#include "ouro/core/error.h"
#include "ouro/kernels/cpu/optim.h"

namespace ouro {

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& options)
    : Optimizer("Adagrad", std::move(groups), options.lr, options.weight_decay,
                {"lr_decay", "eps", "initial_accumulator_value"}),
      options_(options) {
  for (std::size_t g = 0; g < this->groups().size(); ++g) {
    const double lr_decay = group_option(g, "lr_decay", options.lr_decay);
    const double eps = group_option(g, "eps", options.eps);
    const double initial = group_option(g, "initial_accumulator_value", options.initial_accumulator_value);
    OURO_CHECK(lr_decay >= 0, where(g), "lr_decay must be >= 0, got ", lr_decay);
    OURO_CHECK(eps >= 0, where(g), "eps must be >= 0, got ", eps);
    OURO_CHECK(initial >= 0, where(g), "initial_accumulator_value must be >= 0, got ", initial);
    lr_decay_.push_back(lr_decay);
    eps_.push_back(eps);
    initial_.push_back(initial);
  }
}

std::vector<std::string> Adagrad::buffer_names(std::size_t) const { return {"sum"}; }

double Adagrad::buffer_initial_value(std::size_t group, const std::string&) const { return initial_[group]; }

void Adagrad::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
  kernels::AdagradStep s;
  s.lr = lr(group);
  s.lr_decay = lr_decay_[group];
  s.eps = eps_[group];
  s.weight_decay = *groups()[group].weight_decay;
  s.step = static_cast<double>(state.step);
  dispatch_floating(param.dtype(), "Adagrad", [&](auto tag) {
    using T = decltype(tag);
    kernels::adagrad_update<T>(param.data<T>(), grad.data<T>(), state.buffers.at("sum").data<T>(), param.numel(), s);
  });
}

}  // namespace ouro
