#include "ouro/nn/module.h"

#include <sstream>

#include "ouro/core/error.h"

namespace ouro {

Tensor Module::forward(const Tensor& input) { return forward(std::vector<Tensor>{input}); }

Tensor Module::forward(const std::vector<Tensor>& inputs) {
  OURO_CHECK(inputs.size() == 1, type_name(), ": expected 1 input, got ", inputs.size());
  return forward(inputs.front());
}

Tensor& Module::register_parameter(const std::string& name, Tensor value, bool trainable) {
  OURO_CHECK(name.find('.') == std::string::npos && !name.empty(), type_name(), ": bad parameter name '", name, "'");
  for (const auto& slot : parameters_)
    OURO_CHECK(slot.name != name, type_name(), ": parameter '", name, "' registered twice");
  OURO_CHECK(is_floating(value.dtype()), type_name(), ": parameter '", name, "' must be floating, got a ",
             value.describe());
  value.set_requires_grad(trainable);
  parameters_.push_back({name, std::move(value)});
  return parameters_.back().tensor;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  OURO_CHECK(name.find('.') == std::string::npos && !name.empty(), type_name(), ": bad buffer name '", name, "'");
  buffers_.push_back({name, std::move(value)});
  return buffers_.back().tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  OURO_CHECK(module != nullptr, type_name(), ": sub-module '", name, "' is null");
  OURO_CHECK(name.find('.') == std::string::npos && !name.empty(), type_name(), ": bad sub-module name '", name, "'");
  for (const auto& [existing, child] : children_)
    OURO_CHECK(existing != name, type_name(), ": sub-module '", name, "' registered twice");
  children_.emplace_back(name, std::move(module));
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool trainable_only) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& slot : parameters_)
    if (!trainable_only || slot.tensor.requires_grad()) out.emplace_back(slot.name, slot.tensor);
  for (const auto& [prefix, child] : children_)
    for (auto& [name, tensor] : child->named_parameters(trainable_only)) out.emplace_back(prefix + "." + name, tensor);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& slot : buffers_) out.emplace_back(slot.name, slot.tensor);
  for (const auto& [prefix, child] : children_)
    for (auto& [name, tensor] : child->named_buffers()) out.emplace_back(prefix + "." + name, tensor);
  return out;
}

std::vector<Tensor> Module::parameters(bool trainable_only) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters(trainable_only)) out.push_back(tensor);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [prefix, child] : children_) {
    out.emplace_back(prefix, child);
    for (auto& [name, grandchild] : child->named_modules()) out.emplace_back(prefix + "." + name, grandchild);
  }
  return out;
}

std::int64_t Module::parameter_count(bool trainable_only) const {
  std::int64_t n = 0;
  for (const Tensor& t : parameters(trainable_only)) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

StateDict Module::state_dict() const {
  StateDict out;
  for (auto& [name, tensor] : named_parameters()) out[name] = tensor;
  for (auto& [name, tensor] : named_buffers()) out[name] = tensor;
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  StateDict own = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, tensor] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (it->second.shape() != tensor.shape()) {
      mismatched.push_back(name + " (checkpoint " + shape_str(it->second.shape()) + ", model " +
                           shape_str(tensor.shape()) + ")");
    }
  }
  for (const auto& [name, tensor] : state)
    if (own.find(name) == own.end()) unexpected.push_back(name);
  auto list = [](const std::vector<std::string>& names) {
    std::ostringstream out;
    for (std::size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
    return out.str();
  };
  if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::ostringstream message;
    message << "load_state_dict into " << type_name() << ":";
    if (!missing.empty()) message << " missing tensors: " << list(missing) << ";";
    if (!unexpected.empty()) message << " unexpected tensors: " << list(unexpected) << ";";
    if (!mismatched.empty()) message << " mis-shaped tensors: " << list(mismatched) << ";";
    throw Error(message.str());
  }
  for (auto& [name, tensor] : own) {
    auto it = state.find(name);
    if (it != state.end()) Tensor(tensor).copy_from_(it->second);
  }
}

bool Module::glob_match(const std::string& pattern, const std::string& name) {
  // Iterative matcher with backtracking to the last '*': linear in practice, no recursion.
  std::size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::size_t Module::set_trainable(const std::string& pattern, bool trainable, const char* op) {
  std::size_t matched = 0;
  for (auto& [name, tensor] : named_parameters()) {
    if (!glob_match(pattern, name)) continue;
    Tensor(tensor).set_requires_grad(trainable);
    if (!trainable) Tensor(tensor).zero_grad();
    ++matched;
  }
  OURO_CHECK(matched > 0, op, ": pattern '", pattern, "' matches no parameter of this ", type_name());
  return matched;
}

std::size_t Module::freeze(const std::string& pattern) { return set_trainable(pattern, false, "freeze"); }
std::size_t Module::unfreeze(const std::string& pattern) { return set_trainable(pattern, true, "unfreeze"); }

}  // namespace ouro
