// Activations by name, for layers' `activation` argument (Keras style) and the Activation layer.
#pragma once
#include <string>

#include "ouro/nn/module.h"

namespace ouro {

enum class ActivationKind { None, Relu, LeakyRelu, Sigmoid, Tanh, Gelu, GeluTanh, Softplus, Softmax, LogSoftmax };

// "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "softplus", "softmax",
// "log_softmax", "linear"/"none"; anything else is an error listing the accepted names.
ActivationKind parse_activation(const std::string& name);
std::string activation_name(ActivationKind kind);
// Softmax and log-softmax act on the last dimension.
Tensor apply_activation(const Tensor& x, ActivationKind kind);

class Activation : public Module {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}
  explicit Activation(const std::string& name) : kind_(parse_activation(name)) {}
  std::string type_name() const override { return "Activation"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override { return apply_activation(x, kind_); }
  ActivationKind kind() const { return kind_; }

 private:
  ActivationKind kind_;
};

}  // namespace ouro
