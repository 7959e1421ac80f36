#include "ouro/nn/linear.h"

#include <cmath>

#include "ouro/core/error.h"
#include "ouro/autograd/grad_mode.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/linalg.h"
#include "ouro/ops/linear.h"
#include "ouro/ops/lora_linear.h"
#include "ouro/tensor/init.h"

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
  if (!has_lora() || lora_merged_) return apply_activation(linear(x, weight_, bias_), options_.activation);
  const bool drop = is_training() && lora_options_.dropout > 0;
  const Tensor x_lora = drop ? dropout(x, lora_options_.dropout, true, lora_options_.generator) : Tensor();
  return apply_activation(lora_linear(x, weight_, bias_, lora_A_, lora_B_, lora_scale(), x_lora),
                          options_.activation);
}

void Linear::attach_lora(const LoraOptions& options) {
  OURO_CHECK(!has_lora(), "Linear(", options_.in, " -> ", options_.out, ")::attach_lora: a LoRA adapter is already attached");
  OURO_CHECK(options.rank > 0, "Linear::attach_lora: rank must be positive, got ", options.rank);
  OURO_CHECK(std::isfinite(options.alpha), "Linear::attach_lora: alpha must be a finite number, got ", options.alpha);
  OURO_CHECK(options.dropout >= 0 && options.dropout < 1, "Linear::attach_lora: dropout must be in [0, 1), got ",
             options.dropout);
  lora_options_ = options;
  Tensor a = Tensor::empty({options.rank, options_.in}, weight_.dtype());
  // PEFT's initialisation: kaiming_uniform_(a = sqrt(5)) on A, zeros on B.
  kaiming_uniform_(a, std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyRelu, options.generator);
  lora_A_ = register_parameter("lora_A", a);
  lora_B_ = register_parameter("lora_B", Tensor::zeros({options_.out, options.rank}, weight_.dtype()));
}

void Linear::merge_lora() {
  OURO_CHECK(has_lora(), "Linear::merge_lora: no LoRA adapter is attached");
  OURO_CHECK(!lora_merged_, "Linear::merge_lora: the adapter is already merged");
  NoGradGuard no_grad;
  weight_.copy_from_(add(weight_, mul(matmul(lora_B_, lora_A_), lora_scale())));
  lora_merged_ = true;
}

void Linear::unmerge_lora() {
  OURO_CHECK(has_lora() && lora_merged_, "Linear::unmerge_lora: no merged LoRA adapter to take out");
  NoGradGuard no_grad;
  weight_.copy_from_(sub(weight_, mul(matmul(lora_B_, lora_A_), lora_scale())));
  lora_merged_ = false;
}

std::string Linear::config_json() const {
  return "{\"in\": " + std::to_string(options_.in) + ", \"out\": " + std::to_string(options_.out) +
         ", \"bias\": " + (options_.bias ? "true" : "false") + ", \"activation\": \"" +
         activation_name(options_.activation) + "\"}";
}

}  // namespace ouro
