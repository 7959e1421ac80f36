#include "ouro/nn/activation.h"

#include "ouro/core/error.h"
#include "ouro/ops/activation.h"
#include "ouro/ops/softmax.h"

namespace ouro {

namespace {
const std::pair<const char*, ActivationKind> kNames[] = {
    {"linear", ActivationKind::None},     {"none", ActivationKind::None},
    {"relu", ActivationKind::Relu},       {"leaky_relu", ActivationKind::LeakyRelu},
    {"sigmoid", ActivationKind::Sigmoid}, {"tanh", ActivationKind::Tanh},
    {"gelu", ActivationKind::Gelu},       {"gelu_tanh", ActivationKind::GeluTanh},
    {"softplus", ActivationKind::Softplus}, {"softmax", ActivationKind::Softmax},
    {"log_softmax", ActivationKind::LogSoftmax},
};
}  // namespace

ActivationKind parse_activation(const std::string& name) {
  for (const auto& [text, kind] : kNames)
    if (name == text) return kind;
  std::string accepted;
  for (const auto& [text, kind] : kNames) accepted += (accepted.empty() ? "" : ", ") + std::string(text);
  throw Error("activation '" + name + "' is unknown; accepted: " + accepted);
}

std::string activation_name(ActivationKind kind) {
  for (const auto& [text, k] : kNames)
    if (k == kind && std::string(text) != "none") return text;
  return "linear";
}

Tensor apply_activation(const Tensor& x, ActivationKind kind) {
  switch (kind) {
    case ActivationKind::None: return x;
    case ActivationKind::Relu: return relu(x);
    case ActivationKind::LeakyRelu: return leaky_relu(x);
    case ActivationKind::Sigmoid: return sigmoid(x);
    case ActivationKind::Tanh: return tanh(x);
    case ActivationKind::Gelu: return gelu(x, GeluApproximation::None);
    case ActivationKind::GeluTanh: return gelu(x, GeluApproximation::Tanh);
    case ActivationKind::Softplus: return softplus(x);
    case ActivationKind::Softmax: return softmax(x, -1);
    case ActivationKind::LogSoftmax: return log_softmax(x, -1);
  }
  return x;
}

std::string Activation::config_json() const { return "{\"activation\": \"" + activation_name(kind_) + "\"}"; }

}  // namespace ouro
