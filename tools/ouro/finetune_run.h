// The fine-tuning half of a training run (`ouro finetune`, and `ouro resume` of such a run):
// the model comes from a base checkpoint, is frozen / adapted as [finetune] says, scored
// before and after on the new data and on the base run's validation data, and a LoRA run
// writes its adapter beside the checkpoints.
#pragma once
#include <map>
#include <string>

#include "ouro/io/config.h"
#include "ouro/train/run_directory.h"
#include "task.h"

namespace ouro::cli {

struct FinetuneState {
  std::string base_checkpoint;  // resolved path
  Config base_config;           // the base run's config (its [data] defines "general" validation)
  std::string base_sha256;      // base_weights_sha256 of the loaded base model
  std::vector<std::string> lora_modules;
};

// Builds the model from config.finetune.init_from, loads the base weights, applies the mode
// and prints what is trained. `report_before`: print the validation figures of the base
// model first (not when resuming: the figures were printed when the run started).
TaskModel prepare_finetuning_run(const Config& config, TaskData& data, bool report_before, FinetuneState& state);

// After training: the validation figures again and, for LoRA, RUN_DIR/adapter.safetensors.
void finish_finetuning_run(const Config& config, TaskModel& task, const RunDirectory& run, const FinetuneState& state);

// The adapter file of a LoRA fine-tuning run.
inline std::string adapter_path(const RunDirectory& run) { return run.path() + "/adapter.safetensors"; }

}  // namespace ouro::cli
