// Sequential: a chain of modules, each fed the previous one's output; children are named
// "0", "1", ... so parameter names read "0.weight", "1.bias" as in torch.nn.Sequential.
#pragma once
#include <initializer_list>
#include <vector>

#include "ouro/nn/module.h"

namespace ouro {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> layers);
  std::string type_name() const override { return "Sequential"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;

  Sequential& add(ModulePtr layer);
  std::size_t size() const { return layers_.size(); }
  const ModulePtr& operator[](std::size_t i) const { return layers_.at(i); }
  const std::vector<ModulePtr>& layers() const { return layers_; }

 private:
  std::vector<ModulePtr> layers_;
};

// Applies a module to every time step: [batch, time, ...] -> module on [batch * time, ...]
// -> [batch, time, ...out].
class TimeDistributed : public Module {
 public:
  explicit TimeDistributed(ModulePtr layer);
  std::string type_name() const override { return "TimeDistributed"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;

 private:
  ModulePtr layer_;
};

}  // namespace ouro
