// LoRA fine-tuning of a whole model: attach adapters to the Linear layers picked by name,
// freeze everything else, count what is trained, and save / load the adapter alone as a small
// safetensors file tied (by a SHA-256 of the weights) to the base model it was trained on.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ouro/nn/linear.h"
#include "ouro/nn/module.h"

namespace ouro {

// Freezes every parameter of `root`, then attaches a LoRA adapter (trainable) to each Linear
// whose module path matches a target pattern. A pattern is a glob ('*', '?') matched against
// the dotted module path ("h.0.attn.c_attn"); a pattern without '.' also matches a module's
// own name, the last part of its path ("c_attn" picks it in every block), as PEFT's
// target_modules do. A pattern that picks no Linear, or a Linear that already has an adapter,
// is an error. Returns the adapted modules' paths in model order.
std::vector<std::string> apply_lora(Module& root, const LoraOptions& options, const std::vector<std::string>& targets);

// The model's Linear layers that carry an adapter, by path, in model order.
std::vector<std::pair<std::string, Linear*>> lora_layers(const Module& root);

// Folds every adapter into its base weight (Linear::merge_lora) / takes them out again.
void merge_lora(Module& root);
void unmerge_lora(Module& root);

// The parameters (names and values) with every adapter folded into its base weight and the
// lora_A / lora_B tensors left out: the state_dict of the plain model, for export. Does not
// change `root`.
StateDict merged_state_dict(const Module& root);

struct ParameterCounts {
  std::int64_t trainable = 0;
  std::int64_t total = 0;  // adapters included
  double trainable_fraction() const { return total > 0 ? static_cast<double>(trainable) / total : 0.0; }
};
ParameterCounts count_parameters(const Module& root);
// "trainable 12,288 of 1,206,528 parameters (1.02%)"
std::string describe_parameter_counts(const ParameterCounts& counts);

// True for the names of adapter tensors: the last part of the name is lora_A or lora_B.
bool is_lora_parameter(const std::string& name);

// SHA-256 over the model's base tensors (every parameter and buffer except the adapters,
// unmerged): for each in name order, its name, dtype, shape and little-endian bytes. It
// identifies base weights independently of the file that held them (optimizer state,
// metadata), so an adapter can be checked against the model it is applied to.
std::string base_weights_sha256(const Module& root);

// What an adapter file says about itself (its __metadata__).
struct LoraAdapterInfo {
  LoraOptions options{};             // generator is not stored
  std::vector<std::string> targets{};  // the patterns given to apply_lora
  std::vector<std::string> modules{};  // the adapted module paths
  std::string base_sha256{};           // base_weights_sha256 of the model it was trained on
  std::map<std::string, std::string> extra{};  // further metadata (e.g. the run's config)
};

// Writes only the adapter tensors ("<module path>.lora_A" / ".lora_B") and `info` (format
// "ouro.lora_adapter", base_sha256, rank, alpha, dropout, targets, modules, then info.extra)
// atomically to `path`. info.base_sha256 must be set (use base_weights_sha256 of `root`).
void save_lora_adapter(const std::string& path, const Module& root, const LoraAdapterInfo& info);

// Reads an adapter file's metadata only.
LoraAdapterInfo read_lora_adapter_info(const std::string& path);

// Applies an adapter file to `root`: checks that base_weights_sha256(root) equals the file's
// base_sha256, attaches adapters to the file's modules (apply_lora with its options and
// targets) unless they are attached already, checks every tensor's name and shape, and
// copies the values in (unmerged). Every mismatch is an ouro::Error naming the file.
LoraAdapterInfo load_lora_adapter(const std::string& path, Module& root);

}  // namespace ouro
