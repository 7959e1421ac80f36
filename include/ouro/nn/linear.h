// Linear (Keras: Dense): y = activation(x @ weight^T + bias) over the last dimension of x.
// weight is [out, in] as in PyTorch, so checkpoints exchange with torch.nn.Linear unchanged.
#pragma once
#include "ouro/nn/activation.h"
#include "ouro/tensor/random.h"

namespace ouro {

struct LinearOptions {
  std::int64_t in = 0;
  std::int64_t out = 0;
  bool bias = true;
  ActivationKind activation = ActivationKind::None;
  DType dtype = DType::Float32;
  Generator* generator = nullptr;  // for the initial weights; the default generator when null
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Linear(std::int64_t in, std::int64_t out, ActivationKind activation = ActivationKind::None, bool bias = true);
  std::string type_name() const override { return "Linear"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

  const LinearOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  LinearOptions options_;
  Tensor weight_, bias_;
};

using Dense = Linear;

}  // namespace ouro
