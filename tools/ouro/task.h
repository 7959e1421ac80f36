// A model type of the config ([model] type) as the CLI sees it: how to read its data, build
// its model, and what loss and metrics train it. Each type lives in its own task_<type>.cpp
// and only turns config values into library objects.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ouro/data/dataset.h"
#include "ouro/io/config.h"
#include "ouro/nn/module.h"
#include "ouro/tensor/random.h"
#include "ouro/train/callbacks.h"

namespace ouro::cli {

struct TaskModel {
  ModulePtr model;
  std::string loss;                  // a make_loss name
  std::vector<std::string> metrics;  // make_metric names
  std::int64_t tokens_per_sample = 0;  // for tokens/s in the metrics log (0: none)
  // Saved into every checkpoint and handed back to rebuild the model (e.g. the vocabulary).
  std::map<std::string, std::string> metadata;
  // Generators the model draws from besides the default one (dropout), saved in checkpoints.
  std::map<std::string, std::shared_ptr<Generator>> generators;
  // How the data must be fed: stateful text streams keep their order and full batches.
  bool shuffle = true;
  bool drop_last = false;
  std::vector<CallbackPtr> callbacks;  // the task's own (e.g. a state reset each epoch)
  // AdamW-style decay only on tensors of rank >= 2 (weight matrices, embeddings): the
  // optimizer gets two parameter groups, the other one without weight decay.
  bool decay_matrices_only = false;
  // After training: task-specific figures on the validation data, e.g. {"val_bits_per_char"}.
  std::function<std::map<std::string, double>()> final_report;
};

struct TaskData {
  Dataset train;
  std::optional<Dataset> validation;
};

struct GenerateRequest {
  std::string prompt;
  std::int64_t max_tokens = 200;
  double temperature = 1.0;
  std::int64_t top_k = 0;  // 0: sample from the whole distribution
  double top_p = 1.0;
  std::uint64_t seed = 0;
  double repetition_penalty = 1.0;  // > 0; 1: off (gpt)
  std::vector<std::string> stop;    // end before the first of these in the text (gpt)
};

struct ForecastRequest {
  std::string data_path;  // CSV with the history, read as the config's data section says
  std::int64_t horizon = 1;
  // When set: instead of forecasting after the history, a rolling-origin evaluation — from
  // every origin whose time (or 0-based row, without data.time_column) is >= this value,
  // forecast closed-loop from the history up to it, and print the RMSE at each horizon with
  // persistence's and AR(p)'s (fitted on the values before the first origin).
  std::optional<double> origins_from;
};

struct Task {
  // Reads config.data and fills `data`; returns the model the data calls for, initialised from
  // config.train.seed.
  TaskModel (*prepare_training)(const Config& config, TaskData& data) = nullptr;
  // The same model (uninitialised weights are fine: a checkpoint is loaded over them) from a
  // config and the metadata a checkpoint carries.
  TaskModel (*rebuild)(const Config& config, const std::map<std::string, std::string>& metadata) = nullptr;
  // All of `path` as evaluation data for a rebuilt model.
  Dataset (*evaluation_data)(const Config& config, const TaskModel& model, const std::string& path) = nullptr;
  // Optional figures `ouro eval` prints besides the loss and metrics (e.g. bits per character).
  std::map<std::string, double> (*extra_metrics)(const Config& config, TaskModel& model,
                                                 const std::string& path) = nullptr;
  // Text models: figures on the run's own validation split (the held-out entries of its
  // corpus), e.g. {"bits_per_byte"}, in the unit every text model shares.
  std::map<std::string, double> (*validation_report)(const Config& config, TaskModel& model) = nullptr;
  // Text models: writes the prompt's continuation to `out` piece by piece as it is sampled.
  void (*generate)(const Config& config, const TaskModel& model, const GenerateRequest& request,
                   std::FILE* out) = nullptr;
  // Fine-tuning (`ouro finetune`): the model a base checkpoint's metadata describes (weights
  // are loaded over it afterwards), with config.data read for it (e.g. encoded with its
  // vocabulary) into `data`. validation_report scores the model before and after on the
  // fine-tuning data and on the base run's data. Null: this model type cannot be fine-tuned.
  TaskModel (*prepare_finetuning)(const Config& config, TaskData& data,
                                  const std::map<std::string, std::string>& base_metadata) = nullptr;
  // Series models: the closed-loop forecast after the history in the request, as CSV
  // ("step,forecast" rows) written to `out`.
  void (*forecast)(const Config& config, const TaskModel& model, const ForecastRequest& request,
                   std::FILE* out) = nullptr;
};

// The task of config.model.type (the config schema only lets known types through).
const Task& task_for(const std::string& model_type);

// Checkpoint metadata key holding the resolved config (a JSON string of TOML text).
inline constexpr const char* kConfigMetadataKey = "ouro_config";

// The checkpoint a command-line path means: a file as it is; a run directory or its
// checkpoints/ folder, or a checkpoints/latest pointer: the newest checkpoint there.
std::string resolve_checkpoint(const std::string& path);

// A checkpoint's config and metadata, read from its header only; an error names the file when
// it was not written by `ouro train`.
struct CheckpointConfig {
  Config config;
  std::map<std::string, std::string> metadata;
};
CheckpointConfig read_checkpoint_config(const std::string& path);

// Rebuilds the model a checkpoint was trained as and loads its weights (eval mode). A
// non-empty `adapter` is a LoRA adapter file (written by `ouro finetune` in lora mode),
// applied unmerged on top; it must have been trained on exactly these base weights.
TaskModel load_trained_model(const std::string& path, CheckpointConfig& info, const std::string& adapter = "");

}  // namespace ouro::cli
