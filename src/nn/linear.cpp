#include "ouro/nn/linear.h"

#include <cmath>

#include "ouro/core/error.h"
#include "ouro/ops/linear.h"

namespace ouro {

Linear::Linear(const LinearOptions& options) : options_(options) {
  OURO_CHECK(options.in > 0 && options.out > 0, "Linear: in and out must be positive, got in=", options.in,
             " out=", options.out);
  // PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias (kaiming_uniform with a=sqrt(5)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.in));
  weight_ = register_parameter("weight", rand({options.out, options.in}, -bound, bound, options.dtype, options.generator));
  if (options.bias) bias_ = register_parameter("bias", rand({options.out}, -bound, bound, options.dtype, options.generator));
}

Linear::Linear(std::int64_t in, std::int64_t out, ActivationKind activation, bool bias)
    : Linear(LinearOptions{.in = in, .out = out, .bias = bias, .activation = activation}) {}

Tensor Linear::forward(const Tensor& x) {
  OURO_CHECK(x.dim() >= 1 && x.shape().back() == options_.in, "Linear(", options_.in, " -> ", options_.out,
             "): expected input with last dimension ", options_.in, ", got shape ", shape_str(x.shape()));
  const Tensor y = linear(x, weight_, bias_);
  return apply_activation(y, options_.activation);
}

std::string Linear::config_json() const {
  return "{\"in\": " + std::to_string(options_.in) + ", \"out\": " + std::to_string(options_.out) +
         ", \"bias\": " + (options_.bias ? "true" : "false") + ", \"activation\": \"" +
         activation_name(options_.activation) + "\"}";
}

}  // namespace ouro
