#include "ouro/train/gpt_checkpoint.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ouro/core/error.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/gpt_hf.h"
#include "ouro/train/checkpoint.h"

namespace ouro {
namespace {

std::int64_t heads_from_config_json(const std::string& path) {
  const std::filesystem::path config = std::filesystem::path(path).parent_path() / "config.json";
  std::ifstream in(config);
  OURO_CHECK(in.good(), "load_gpt '", path, "': a Hugging Face GPT-2 file does not record the head count; pass it, ",
             "or put the model's config.json (with \"n_head\") beside the file (", config.string(), " not found)");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  OURO_CHECK(j.is_object() && j.contains("n_head") && j["n_head"].is_number_integer(), "load_gpt '", path, "': ",
             config.string(), " has no integer \"n_head\"");
  return j["n_head"].get<std::int64_t>();
}

}  // namespace

std::shared_ptr<Gpt> load_gpt(const std::string& path, std::int64_t hf_heads) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const auto config = header.metadata.find("model_config");
  if (config != header.metadata.end()) {
    const nlohmann::json tree = nlohmann::json::parse(config->second, nullptr, /*allow_exceptions=*/false);
    OURO_CHECK(tree.is_object() && tree.contains("type") && tree["type"] == "Gpt" && tree.contains("config"),
               "load_gpt '", path, "': the checkpoint holds a ",
               tree.is_object() && tree.contains("type") ? tree["type"].dump() : std::string("model of unknown type"),
               ", not a Gpt");
    auto model = Gpt::from_config_json(tree["config"].dump());
    load_checkpoint(path, *model, CheckpointTargets{.restore_default_generator = false});
    return model;
  }
  bool hf = false;
  for (const auto& entry : header.tensors) hf = hf || entry.name == "wte.weight" || entry.name == "transformer.wte.weight";
  OURO_CHECK(hf, "load_gpt '", path, "': neither an ouro checkpoint (no \"model_config\" metadata) nor a Hugging Face ",
             "GPT-2 file (no wte.weight)");
  const std::int64_t heads = hf_heads > 0 ? hf_heads : heads_from_config_json(path);
  try {
    return gpt_from_hf(load_safetensors(path).tensors, heads);
  } catch (const Error& e) {
    throw Error("load_gpt '" + path + "': " + e.what());
  }
}

}  // namespace ouro
