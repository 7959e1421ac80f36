// Linear (Keras: Dense): y = activation(x @ weight^T + bias) over the last dimension of x.
// weight is [out, in] as in PyTorch, so checkpoints exchange with torch.nn.Linear unchanged.
// A LoRA adapter (Hu et al. 2021) can be attached: y = x W^T + b + (alpha/r) B A dropout(x).
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

// A low-rank adapter: parameters lora_A [rank, in] and lora_B [out, rank], scaled by alpha/rank.
// Initialised as PEFT does: A kaiming-uniform (a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))),
// B zeros, so an attached adapter leaves the layer's output unchanged until it is trained.
struct LoraOptions {
  std::int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;  // on the adapter's input only, in training
  // Draws lora_A's initial values and the dropout masks; the default generator when null
  // (saved in every checkpoint, so a resumed run draws the same masks).
  Generator* generator = nullptr;
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

  // ---- LoRA ----
  // Registers lora_A and lora_B (trainable) beside weight and bias; a second call is an error.
  void attach_lora(const LoraOptions& options);
  bool has_lora() const { return lora_A_.defined(); }
  const LoraOptions& lora_options() const { return lora_options_; }
  double lora_scale() const { return lora_options_.alpha / static_cast<double>(lora_options_.rank); }
  Tensor& lora_A() { return lora_A_; }
  Tensor& lora_B() { return lora_B_; }
  // Folds the adapter into weight (W += scale * B A) so that forward is a plain linear again;
  // unmerge_lora subtracts it back (equal to the original weight up to float rounding).
  // Neither records a graph. Merging twice or unmerging an unmerged layer is an error.
  void merge_lora();
  void unmerge_lora();
  bool lora_merged() const { return lora_merged_; }

 private:
  LinearOptions options_;
  Tensor weight_, bias_;
  LoraOptions lora_options_{};
  Tensor lora_A_, lora_B_;
  bool lora_merged_ = false;
};

using Dense = Linear;

}  // namespace ouro
