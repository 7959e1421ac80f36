#include "ouro/nn/lora.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/io/safetensors.h"
#include "ouro/io/sha256.h"
#include "ouro/nn/summary.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/linalg.h"

namespace ouro {
namespace {

std::string last_part(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool target_matches(const std::string& pattern, const std::string& path) {
  if (Module::glob_match(pattern, path)) return true;
  return pattern.find('.') == std::string::npos && Module::glob_match(pattern, last_part(path));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

}  // namespace

bool is_lora_parameter(const std::string& name) {
  const std::string last = last_part(name);
  return last == "lora_A" || last == "lora_B";
}

std::vector<std::string> apply_lora(Module& root, const LoraOptions& options, const std::vector<std::string>& targets) {
  OURO_CHECK(!targets.empty(), "apply_lora: no target modules given (e.g. \"c_attn\", \"c_proj\", \"c_fc\")");
  const auto modules = root.named_modules();
  std::vector<std::pair<std::string, Linear*>> picked;
  std::set<std::string> picked_paths;
  std::vector<std::string> linear_paths;
  for (const auto& [path, module] : modules)
    if (dynamic_cast<Linear*>(module.get()) != nullptr) linear_paths.push_back(path);
  for (const std::string& pattern : targets) {
    bool any = false;
    for (const auto& [path, module] : modules) {
      auto* linear = dynamic_cast<Linear*>(module.get());
      if (linear == nullptr || !target_matches(pattern, path)) continue;
      any = true;
      if (picked_paths.insert(path).second) picked.emplace_back(path, linear);
    }
    OURO_CHECK(any, "apply_lora: target '", pattern, "' matches no Linear layer of this ", root.type_name(),
               "; its Linear layers are: ", linear_paths.empty() ? std::string("(none)") : joined(linear_paths));
  }
  for (const auto& [path, linear] : picked)
    OURO_CHECK(!linear->has_lora(), "apply_lora: '", path, "' already has a LoRA adapter");
  // Model order, not pattern order, so that the same targets in another order give the same model.
  std::vector<std::string> out;
  root.freeze("*");
  for (const auto& [path, module] : modules)
    if (picked_paths.count(path)) {
      static_cast<Linear&>(*module).attach_lora(options);
      out.push_back(path);
    }
  return out;
}

std::vector<std::pair<std::string, Linear*>> lora_layers(const Module& root) {
  std::vector<std::pair<std::string, Linear*>> out;
  for (const auto& [path, module] : root.named_modules())
    if (auto* linear = dynamic_cast<Linear*>(module.get()); linear != nullptr && linear->has_lora())
      out.emplace_back(path, linear);
  return out;
}

void merge_lora(Module& root) {
  for (auto& [path, linear] : lora_layers(root)) linear->merge_lora();
}

void unmerge_lora(Module& root) {
  for (auto& [path, linear] : lora_layers(root)) linear->unmerge_lora();
}

StateDict merged_state_dict(const Module& root) {
  StateDict state;
  for (const auto& [name, tensor] : root.state_dict())
    if (!is_lora_parameter(name)) state[name] = tensor.detach().copy();
  NoGradGuard no_grad;
  for (auto& [path, linear] : lora_layers(root)) {
    if (linear->lora_merged()) continue;  // weight holds the adapter already
    Tensor& weight = state.at(path + ".weight");
    weight = add(weight, mul(matmul(linear->lora_B(), linear->lora_A()), linear->lora_scale()));
  }
  return state;
}

ParameterCounts count_parameters(const Module& root) {
  return {root.parameter_count(/*trainable_only=*/true), root.parameter_count()};
}

std::string describe_parameter_counts(const ParameterCounts& counts) {
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.2f%%", 100.0 * counts.trainable_fraction());
  return "trainable " + format_count(counts.trainable) + " of " + format_count(counts.total) + " parameters (" +
         percent + ")";
}

std::string base_weights_sha256(const Module& root) {
  for (const auto& [path, linear] : lora_layers(root))
    OURO_CHECK(!linear->lora_merged(), "base_weights_sha256: the adapter of '", path,
               "' is merged into its weight; unmerge it first");
  Sha256 hash;
  for (const auto& [name, tensor] : root.state_dict()) {
    if (is_lora_parameter(name)) continue;
    const Tensor t = tensor.is_contiguous() ? tensor : tensor.copy();
    std::string head = name + '\0' + dtype_name(t.dtype()) + '\0';
    for (const std::int64_t d : t.shape()) head += std::to_string(d) + ',';
    hash.update(head + '\0');
    hash.update(t.raw_data(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  }
  return hash.hex_digest();
}

void save_lora_adapter(const std::string& path, const Module& root, const LoraAdapterInfo& info) {
  OURO_CHECK(!info.base_sha256.empty(), "save_lora_adapter '", path,
             "': info.base_sha256 is empty (set it to base_weights_sha256 of the base model)");
  const auto layers = lora_layers(root);
  OURO_CHECK(!layers.empty(), "save_lora_adapter '", path, "': the ", root.type_name(), " has no LoRA adapter");
  std::map<std::string, Tensor> tensors;
  std::vector<std::string> modules;
  for (const auto& [module_path, linear] : layers) {
    OURO_CHECK(!linear->lora_merged(), "save_lora_adapter '", path, "': the adapter of '", module_path,
               "' is merged; save before merging");
    tensors[module_path + ".lora_A"] = linear->lora_A();
    tensors[module_path + ".lora_B"] = linear->lora_B();
    modules.push_back(module_path);
  }
  const LoraOptions& o = layers.front().second->lora_options();
  std::map<std::string, std::string> metadata = info.extra;
  metadata["format"] = nlohmann::json("ouro.lora_adapter").dump();
  metadata["base_sha256"] = nlohmann::json(info.base_sha256).dump();
  metadata["rank"] = nlohmann::json(o.rank).dump();
  metadata["alpha"] = nlohmann::json(o.alpha).dump();
  metadata["dropout"] = nlohmann::json(o.dropout).dump();
  metadata["targets"] = nlohmann::json(info.targets.empty() ? modules : info.targets).dump();
  metadata["modules"] = nlohmann::json(modules).dump();
  save_safetensors(path, tensors, metadata);
}

LoraAdapterInfo read_lora_adapter_info(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const std::string who = "LoRA adapter '" + path + "': ";
  auto field = [&](const char* key) {
    const auto it = header.metadata.find(key);
    OURO_CHECK(it != header.metadata.end(), who, "no \"", key, "\" metadata (not written by save_lora_adapter)");
    try {
      return nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
      throw Error(who + "malformed \"" + key + "\" metadata: " + e.what());
    }
  };
  const auto format = header.metadata.find("format");
  OURO_CHECK(format != header.metadata.end() && format->second == nlohmann::json("ouro.lora_adapter").dump(), who,
             "not an ouro LoRA adapter (metadata \"format\" is ",
             format == header.metadata.end() ? std::string("missing") : format->second,
             ", expected \"ouro.lora_adapter\"); a training checkpoint goes to --from, not --adapter");
  LoraAdapterInfo info;
  try {
    info.base_sha256 = field("base_sha256").get<std::string>();
    info.options.rank = field("rank").get<std::int64_t>();
    info.options.alpha = field("alpha").get<double>();
    info.options.dropout = field("dropout").get<double>();
    info.targets = field("targets").get<std::vector<std::string>>();
    info.modules = field("modules").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(who + "metadata of the wrong type: " + e.what());
  }
  for (const auto& [key, value] : header.metadata)
    if (key != "format" && key != "base_sha256" && key != "rank" && key != "alpha" && key != "dropout" &&
        key != "targets" && key != "modules")
      info.extra[key] = value;
  return info;
}

LoraAdapterInfo load_lora_adapter(const std::string& path, Module& root) {
  const std::string who = "LoRA adapter '" + path + "': ";
  LoraAdapterInfo info = read_lora_adapter_info(path);
  const std::string base = base_weights_sha256(root);
  OURO_CHECK(base == info.base_sha256, who, "it was trained on base weights with SHA-256 ", info.base_sha256,
             ", but this model's weights hash to ", base, ": apply it to the checkpoint it was fine-tuned from");
  const SafetensorsFile file = load_safetensors(path);
  if (lora_layers(root).empty()) {
    // The file's exact module list, so that the same layers are adapted whatever the patterns match now.
    std::vector<std::string> exact;
    for (const std::string& m : info.modules) exact.push_back(m);
    try {
      apply_lora(root, info.options, exact);
    } catch (const Error& e) {
      throw Error(who + "its modules do not fit this model: " + e.what());
    }
  }
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (auto& [module_path, linear] : lora_layers(root)) {
    for (const auto& [suffix, tensor] : {std::pair<const char*, Tensor*>{".lora_A", &linear->lora_A()},
                                         std::pair<const char*, Tensor*>{".lora_B", &linear->lora_B()}}) {
      const std::string name = module_path + suffix;
      expected.insert(name);
      const auto it = file.tensors.find(name);
      if (it == file.tensors.end()) {
        problems.push_back("missing " + name);
      } else if (it->second.shape() != tensor->shape()) {
        problems.push_back(name + " is " + shape_str(it->second.shape()) + " in the file, " +
                           shape_str(tensor->shape()) + " in the model");
      }
    }
  }
  for (const auto& [name, tensor] : file.tensors)
    if (!expected.count(name)) problems.push_back("unexpected " + name);
  OURO_CHECK(problems.empty(), who, "does not match the model's adapters: ", joined(problems));
  for (auto& [module_path, linear] : lora_layers(root)) {
    OURO_CHECK(!linear->lora_merged(), who, "the adapter of '", module_path, "' is merged; unmerge before loading");
    linear->lora_A().copy_from_(file.tensors.at(module_path + ".lora_A"));
    linear->lora_B().copy_from_(file.tensors.at(module_path + ".lora_B"));
  }
  return info;
}

}  // namespace ouro
