#include "ouro/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ouro/autograd/node.h"
#include "ouro/core/error.h"
#include "state_format.h"

namespace ouro {
using namespace optim_detail;

namespace {

// A contiguous tensor with g's values (g itself when it already is).
Tensor contiguous_grad(const Tensor& g) { return g.is_contiguous() ? g : g.copy(); }

}  // namespace

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay, std::vector<std::string> option_names)
    : name_(name), groups_(std::move(groups)) {
  OURO_CHECK(!groups_.empty(), name_, ": got no parameter groups");
  OURO_CHECK(!std::isnan(default_lr), name_, ": lr must be given (torch.optim.", name_, " has no default)");
  OURO_CHECK(default_lr >= 0, name_, ": lr must be >= 0, got ", default_lr);
  OURO_CHECK(default_weight_decay >= 0, name_, ": weight_decay must be >= 0, got ", default_weight_decay);
  // inf passes ">= 0" but turns the first step's weights into inf or NaN.
  OURO_CHECK(std::isfinite(default_lr), name_, ": lr must be finite, got ", default_lr);
  OURO_CHECK(std::isfinite(default_weight_decay), name_, ": weight_decay must be finite, got ", default_weight_decay);
  std::set<const TensorImpl*> seen;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    const std::string at = where(g);
    OURO_CHECK(!group.params.empty(), at, "the group has no parameters");
    if (!group.lr) group.lr = default_lr;
    if (!group.weight_decay) group.weight_decay = default_weight_decay;
    OURO_CHECK(*group.lr >= 0, at, "lr must be >= 0, got ", *group.lr);
    OURO_CHECK(*group.weight_decay >= 0, at, "weight_decay must be >= 0, got ", *group.weight_decay);
    OURO_CHECK(std::isfinite(*group.lr), at, "lr must be finite, got ", *group.lr);
    OURO_CHECK(std::isfinite(*group.weight_decay), at, "weight_decay must be finite, got ", *group.weight_decay);
    for (const auto& [option, value] : group.options) {
      OURO_CHECK(std::find(option_names.begin(), option_names.end(), option) != option_names.end(), at,
                 "unknown option \"", option, "\" (value ", value, ")");
    }
    for (std::size_t j = 0; j < group.params.size(); ++j) {
      const Tensor& p = group.params[j];
      const std::size_t k = num_params_ + j;
      OURO_CHECK(p.defined(), at, "parameter ", k, " is an undefined tensor");
      OURO_CHECK(is_floating(p.dtype()), at, "parameter ", k, " must be floating, got a ", p.describe());
      OURO_CHECK(p.is_contiguous(), at, "parameter ", k, " must be contiguous, got a view (", p.describe(), ")");
      OURO_CHECK(p.is_leaf(), at, "parameter ", k, " is not a leaf (it was made by ", p.grad_fn()->name(),
                 "); optimize the tensor it came from");
      OURO_CHECK(seen.insert(p.impl_ptr().get()).second, at, "parameter ", k,
                 " appears more than once (in this or an earlier group)");
    }
    num_params_ += group.params.size();
  }
  state_.resize(num_params_);
}

std::string Optimizer::where(std::size_t group) const {
  if (groups_.size() == 1) return std::string(name_) + ": ";
  return std::string(name_) + ": group " + std::to_string(group) + ": ";
}

double Optimizer::group_option(std::size_t group, const std::string& option, double fallback) const {
  const auto& options = groups_[group].options;
  const auto it = options.find(option);
  return it == options.end() ? fallback : it->second;
}

double Optimizer::lr(std::size_t group) const {
  OURO_CHECK(group < groups_.size(), name_, ": lr: group ", group, " out of range (", groups_.size(), " groups)");
  return *groups_[group].lr;
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < groups_.size(); ++g) set_lr(g, lr);
}

void Optimizer::set_lr(std::size_t group, double lr) {
  OURO_CHECK(group < groups_.size(), name_, ": set_lr: group ", group, " out of range (", groups_.size(),
             " groups)");
  OURO_CHECK(lr >= 0, where(group), "lr must be >= 0, got ", lr);
  OURO_CHECK(std::isfinite(lr), where(group), "lr must be finite, got ", lr);
  groups_[group].lr = lr;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& group : groups_)
    for (auto& p : group.params) {
      if (set_to_none) p.zero_grad();
      else if (p.grad().defined()) p.grad().fill_(0);
    }
}

void Optimizer::step() {
  std::size_t k = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    for (const Tensor& p : groups_[g].params) {
      const std::size_t index = k++;
      if (!p.requires_grad()) continue;
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      OURO_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(), where(g), "parameter ", index,
                 ": gradient is a ", grad.describe(), ", the parameter a ", p.describe());
      auto& slot = state_[index];
      if (!slot) {
        slot.emplace();
        for (const std::string& buffer : buffer_names(g))
          slot->buffers[buffer] = Tensor::full(p.shape(), buffer_initial_value(g, buffer), p.dtype());
      }
      ++slot->step;
      update(g, p, contiguous_grad(grad), *slot);
    }
  }
}

std::map<std::string, Tensor> Optimizer::state_tensors() const {
  std::map<std::string, Tensor> out;
  for (std::size_t k = 0; k < state_.size(); ++k) {
    if (!state_[k]) continue;
    for (const auto& [buffer, t] : state_[k]->buffers)
      out["param." + std::to_string(k) + "." + buffer] = t.copy();
  }
  return out;
}

std::map<std::string, std::string> Optimizer::state_scalars() const {
  std::map<std::string, std::string> out;
  out["optimizer"] = name_;
  out["groups"] = format_int(static_cast<std::int64_t>(groups_.size()));
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    out[prefix + "params"] = format_int(static_cast<std::int64_t>(groups_[g].params.size()));
    out[prefix + "lr"] = format_double(*groups_[g].lr);
  }
  for (std::size_t k = 0; k < state_.size(); ++k)
    if (state_[k]) out["param." + std::to_string(k) + ".step"] = format_int(state_[k]->step);
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& tensors,
                           const std::map<std::string, std::string>& scalars) {
  const std::string who = std::string(name_) + ": load_state";
  const std::string& kind = require_key(scalars, "optimizer", name_);
  OURO_CHECK(kind == name_, who, ": the state is from a ", kind, " optimizer");
  const std::int64_t saved_groups = parse_int(scalars, "groups", name_);
  OURO_CHECK(saved_groups == static_cast<std::int64_t>(groups_.size()), who, ": the state has ", saved_groups,
             " parameter groups, this optimizer ", groups_.size());

  std::vector<double> lrs(groups_.size());
  std::vector<std::size_t> group_of(num_params_);
  std::vector<const Tensor*> param_of(num_params_);
  std::size_t k = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    const std::int64_t count = parse_int(scalars, prefix + "params", name_);
    OURO_CHECK(count == static_cast<std::int64_t>(groups_[g].params.size()), who, ": key \"", prefix,
               "params\": the state's group ", g, " has ", count, " parameters, this optimizer's ",
               groups_[g].params.size());
    lrs[g] = parse_double(scalars, prefix + "lr", name_);
    OURO_CHECK(lrs[g] >= 0, who, ": key \"", prefix, "lr\": lr must be >= 0, got ", lrs[g]);
    for (const Tensor& p : groups_[g].params) {
      group_of[k] = g;
      param_of[k++] = &p;
    }
  }

  // Which parameters have state, from the "param.<k>.step" keys; every other key must be known.
  std::vector<std::optional<ParamState>> loaded(num_params_);
  auto parse_param_key = [&](const std::string& key, std::string& rest) -> std::size_t {
    OURO_CHECK(key.rfind("param.", 0) == 0, who, ": unknown key \"", key, "\"");
    const std::size_t dot = key.find('.', 6);
    OURO_CHECK(dot != std::string::npos && dot > 6, who, ": unknown key \"", key, "\"");
    std::size_t index = 0;
    const auto result = std::from_chars(key.data() + 6, key.data() + dot, index);
    OURO_CHECK(result.ec == std::errc() && result.ptr == key.data() + dot, who, ": unknown key \"", key, "\"");
    OURO_CHECK(index < num_params_, who, ": key \"", key, "\" names parameter ", index, ", but this optimizer has ",
               num_params_);
    rest = key.substr(dot + 1);
    return index;
  };
  for (const auto& [key, value] : scalars) {
    if (key == "optimizer" || key == "groups" || key.rfind("group.", 0) == 0) continue;
    std::string rest;
    const std::size_t index = parse_param_key(key, rest);
    OURO_CHECK(rest == "step", who, ": unknown key \"", key, "\"");
    loaded[index].emplace();
    loaded[index]->step = parse_int(scalars, key, name_);
    OURO_CHECK(loaded[index]->step >= 1, who, ": key \"", key, "\": step must be >= 1, got ", loaded[index]->step);
  }
  for (const auto& [key, t] : tensors) {
    std::string buffer;
    const std::size_t index = parse_param_key(key, buffer);
    OURO_CHECK(loaded[index], who, ": tensor \"", key, "\" has no matching \"param.", index, ".step\"");
    const auto names = buffer_names(group_of[index]);
    OURO_CHECK(std::find(names.begin(), names.end(), buffer) != names.end(), who, ": unknown key \"", key,
               "\" (a ", name_, " parameter in group ", group_of[index], " has no \"", buffer, "\" buffer)");
    const Tensor& p = *param_of[index];
    OURO_CHECK(t.defined() && t.shape() == p.shape(), who, ": key \"", key, "\": shape ",
               t.defined() ? shape_str(t.shape()) : std::string("(undefined)"), " does not match the parameter's ",
               shape_str(p.shape()));
    loaded[index]->buffers[buffer] = t.to(p.dtype());
  }
  for (std::size_t i = 0; i < num_params_; ++i) {
    if (!loaded[i]) continue;
    for (const std::string& buffer : buffer_names(group_of[i]))
      OURO_CHECK(loaded[i]->buffers.count(buffer), who, ": missing key \"param.", i, ".", buffer, "\"");
  }

  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = lrs[g];
  state_ = std::move(loaded);
}

}  // namespace ouro
