// The task registry and the checkpoint -> model path shared by eval, generate and forecast.
#include "task.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/lora.h"
#include "ouro/train/checkpoint.h"
#include "ouro/train/run_directory.h"

namespace ouro::cli {

const Task& mlp_task();
const Task& char_lstm_task();
const Task& forecaster_task();
const Task& gpt_task();

const Task& task_for(const std::string& model_type) {
  if (model_type == "mlp") return mlp_task();
  if (model_type == "char_lstm") return char_lstm_task();
  if (model_type == "forecaster") return forecaster_task();
  if (model_type == "gpt") return gpt_task();
  throw UsageError("model.type = \"" + model_type + "\" has no task");
}

std::string resolve_checkpoint(const std::string& path) {
  namespace fs = std::filesystem;
  auto latest_in = [&](const fs::path& run_dir) {
    const auto latest = RunDirectory(run_dir.string()).latest_checkpoint();
    OURO_CHECK(latest.has_value(), "'", path, "': no checkpoint yet (", (run_dir / "checkpoints/latest").string(),
               " is missing)");
    return *latest;
  };
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    if (fs::exists(dir / "checkpoints")) return latest_in(dir);
    if (fs::exists(dir / "latest")) return latest_in(dir.parent_path());
    throw Error("'" + path + "' is a directory but not a run directory (no checkpoints/ in it)");
  }
  if (fs::path(path).filename() == "latest" && fs::exists(path)) {
    const fs::path run_dir = fs::path(path).parent_path().parent_path();
    return latest_in(run_dir.empty() ? fs::path(".") : run_dir);
  }
  return path;
}

CheckpointConfig read_checkpoint_config(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const auto it = header.metadata.find(kConfigMetadataKey);
  OURO_CHECK(it != header.metadata.end(), "checkpoint '", path, "': no \"", kConfigMetadataKey,
             "\" metadata: not written by `ouro train` (ouro inspect shows what it holds)");
  std::string toml_text;
  try {
    toml_text = nlohmann::json::parse(it->second).get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("checkpoint '" + path + "': malformed \"" + kConfigMetadataKey + "\" metadata: " + e.what());
  }
  CheckpointConfig out{parse_config(toml_text, path + " [" + kConfigMetadataKey + "]"), header.metadata};
  return out;
}

TaskModel load_trained_model(const std::string& path, CheckpointConfig& info, const std::string& adapter) {
  TaskModel model = task_for(info.config.model.type).rebuild(info.config, info.metadata);
  CheckpointTargets targets;
  targets.restore_default_generator = false;
  load_checkpoint(path, *model.model, targets);
  if (!adapter.empty()) load_lora_adapter(adapter, *model.model);
  model.model->train(false);
  return model;
}

}  // namespace ouro::cli
