// `ouro finetune`'s setup and report around the ordinary training run.
#include "finetune_run.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/io/atomic_file.h"
#include "ouro/nn/lora.h"
#include "ouro/train/checkpoint.h"

namespace ouro::cli {
namespace {

using Figures = std::map<std::string, double>;

std::string report_path(const RunDirectory& run) { return run.path() + "/finetune_report.json"; }

// {"finetune": {...}, "base": {...}}: the fine-tuning data's and the base run's validation figures.
nlohmann::json figures(const Config& config, TaskModel& task, const FinetuneState& state) {
  const Task& t = task_for(config.model.type);
  nlohmann::json out = nlohmann::json::object();
  auto scores = [&](const Config& c) {
    Figures f = t.validation_report ? t.validation_report(c, task) : Figures{};
    std::erase_if(f, [](const auto& item) { return item.first.ends_with("_scored"); });  // counts, not losses
    return f;
  };
  out["finetune"] = scores(config);
  out["base"] = scores(state.base_config);
  return out;
}

void print_figures(const char* when, const nlohmann::json& f, const Config& config, const FinetuneState& state) {
  for (const auto& [key, value] : f["finetune"].items())
    std::printf("%s: %s on the fine-tuning validation data (%s): %.4f\n", when, key.c_str(), config.data.path.c_str(),
                value.get<double>());
  for (const auto& [key, value] : f["base"].items())
    std::printf("%s: %s on the base run's validation data (%s%s): %.4f\n", when, key.c_str(),
                state.base_config.data.path.c_str(),
                // The split of the whole corpus: exclude_files only left the base's training.
                state.base_config.data.exclude_files.empty()
                    ? ""
                    : ("; the base trained without " + state.base_config.data.exclude_files).c_str(),
                value.get<double>());
  std::fflush(stdout);
}

}  // namespace

TaskModel prepare_finetuning_run(const Config& config, TaskData& data, bool report_before, FinetuneState& state) {
  const Task& task = task_for(config.model.type);
  if (task.prepare_finetuning == nullptr)
    throw UsageError("model.type = \"" + config.model.type + "\" cannot be fine-tuned");
  if (config.finetune.init_from.empty())
    throw UsageError("no base checkpoint: pass --from CKPT or set finetune.init_from in the config");
  state.base_checkpoint = resolve_checkpoint(config.finetune.init_from);
  CheckpointConfig base = read_checkpoint_config(state.base_checkpoint);
  if (base.config.model.type != config.model.type)
    throw UsageError("the base checkpoint '" + state.base_checkpoint + "' holds a model.type = \"" +
                     base.config.model.type + "\" model, but the config says \"" + config.model.type + "\"");
  state.base_config = base.config;

  TaskModel model = task.prepare_finetuning(config, data, base.metadata);
  CheckpointTargets targets;
  targets.restore_default_generator = false;
  load_checkpoint(state.base_checkpoint, *model.model, targets);
  state.base_sha256 = base_weights_sha256(*model.model);
  std::printf("fine-tuning from %s (%s mode)\n", state.base_checkpoint.c_str(), config.finetune.mode.c_str());

  const FinetuneConfig& f = config.finetune;
  if (f.mode == "freeze") {
    const auto frozen = split_config_list(f.freeze);
    if (frozen.empty()) throw UsageError("finetune.mode = \"freeze\" needs finetune.freeze patterns (e.g. \"*\")");
    for (const std::string& pattern : frozen) model.model->freeze(pattern);
    for (const std::string& pattern : split_config_list(f.unfreeze)) model.model->unfreeze(pattern);
  } else if (f.mode == "lora") {
    const auto targets_list = split_config_list(f.lora_targets);
    if (targets_list.empty())
      throw UsageError("finetune.mode = \"lora\" needs finetune.lora_targets (Linear layer names, e.g. \"c_attn,c_proj,c_fc\")");
    // Its own generator, seeded from train.seed and saved in checkpoints: A's initial values
    // and the adapter's dropout masks do not depend on anything else the run draws.
    auto generator = std::make_shared<Generator>(static_cast<std::uint64_t>(config.train.seed) ^ 0x10a4ULL);
    state.lora_modules = apply_lora(*model.model,
                                    LoraOptions{.rank = f.lora_rank, .alpha = f.lora_alpha, .dropout = f.lora_dropout,
                                                .generator = generator.get()},
                                    targets_list);
    model.generators["lora"] = generator;
    std::printf("LoRA r=%lld alpha=%g dropout=%g on %zu layers:", static_cast<long long>(f.lora_rank), f.lora_alpha,
                f.lora_dropout, state.lora_modules.size());
    for (const std::string& m : state.lora_modules) std::printf(" %s", m.c_str());
    std::printf("\n");
  } else if (f.mode != "full") {
    throw UsageError("finetune.mode = \"" + f.mode + "\" is not one of full, freeze, lora");
  }
  const ParameterCounts counts = count_parameters(*model.model);
  OURO_CHECK(counts.trainable > 0, "fine-tuning: every parameter is frozen (finetune.freeze / unfreeze)");
  std::printf("%s\n", describe_parameter_counts(counts).c_str());

  if (report_before) {
    const RunDirectory run(config.train.run_dir);
    nlohmann::json report;
    report["base_checkpoint"] = state.base_checkpoint;
    report["mode"] = f.mode;
    report["trainable_parameters"] = counts.trainable;
    report["total_parameters"] = counts.total;
    report["before"] = figures(config, model, state);
    print_figures("before", report["before"], config, state);
    write_file_atomically(report_path(run), report.dump(2) + "\n");
  }
  return model;
}

void finish_finetuning_run(const Config& config, TaskModel& task, const RunDirectory& run, const FinetuneState& state) {
  nlohmann::json report = nlohmann::json::object();
  if (std::ifstream in(report_path(run)); in) report = nlohmann::json::parse(in, nullptr, false);
  if (report.is_discarded()) report = nlohmann::json::object();
  report["after"] = figures(config, task, state);
  print_figures("after", report["after"], config, state);
  if (report.contains("before"))
    for (const char* part : {"finetune", "base"})
      for (const auto& [key, after] : report["after"][part].items())
        if (report["before"][part].contains(key)) {
          const double b = report["before"][part][key].get<double>(), a = after.get<double>();
          std::printf("change: %s on the %s validation data: %.4f -> %.4f (%+.1f%%)\n", key.c_str(),
                      std::string(part) == "finetune" ? "fine-tuning" : "base run's", b, a, 100.0 * (a - b) / b);
        }
  if (config.finetune.mode == "lora") {
    std::map<std::string, std::string> extra;
    extra[kConfigMetadataKey] = nlohmann::json(config_to_toml(config)).dump();
    extra["base_checkpoint"] = nlohmann::json(state.base_checkpoint).dump();
    const std::string path = adapter_path(run);
    save_lora_adapter(path, *task.model,
                      LoraAdapterInfo{.targets = split_config_list(config.finetune.lora_targets),
                                      .base_sha256 = state.base_sha256,
                                      .extra = extra});
    report["adapter"] = path;
    std::printf("adapter: %s (%lld bytes; apply with --adapter, fold in with `ouro merge`)\n", path.c_str(),
                static_cast<long long>(std::filesystem::file_size(path)));
  }
  write_file_atomically(report_path(run), report.dump(2) + "\n");
}

}  // namespace ouro::cli
