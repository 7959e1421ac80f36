// Training checkpoints: model weights, optimizer and scheduler state, progress, data-loader
// position and RNG states in one safetensors file, written atomically, read back with checks
// that name the file and every mismatch.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ouro/data/loader.h"
#include "ouro/nn/module.h"
#include "ouro/optim/optimizer.h"
#include "ouro/optim/schedule.h"
#include "ouro/tensor/random.h"

namespace ouro {

// Bumped when the layout below changes incompatibly; load_checkpoint refuses newer formats.
inline constexpr std::int64_t kCheckpointFormatVersion = 1;
// Written into every checkpoint; keep in step with project(VERSION) in CMakeLists.txt.
inline constexpr const char* kOuroVersion = "0.1.0";

// Where a run stands. loader is where the next batch comes from (so a checkpoint taken after
// the last batch of epoch e says {e + 1, 0}).
struct TrainingProgress {
  std::int64_t epoch = 0;        // the epoch in progress (0-based)
  std::int64_t global_step = 0;  // optimizer steps taken so far
  DataLoader::State loader{};
};

// What goes into a checkpoint besides the model. Null / empty parts are left out.
struct CheckpointParts {
  const Optimizer* optimizer = nullptr;
  const LrScheduler* scheduler = nullptr;
  TrainingProgress progress{};
  // Saved besides ouro::default_generator() (always saved as "default"): e.g. a Dropout's.
  std::map<std::string, const Generator*> generators{};
  // More __metadata__ entries (JSON strings), e.g. the Trainer's epoch accumulators and History.
  std::map<std::string, std::string> extra{};
};

// Layout. Tensors: "model.<name>" for every parameter and buffer, "optimizer.<key>" for every
// optimizer state tensor (Optimizer::state_tensors), "carried.<module path>.<key>" for what a
// module carries between training forwards (Module::carried_tensors; "carried.<key>" for the
// model itself). __metadata__ (each a JSON string):
//   "format" = "ouro.training_checkpoint", "format_version", "ouro_version",
//   "model_config" (a tree {"type", "config", "children": {name: ...}} of every module),
//   "optimizer" (Optimizer::state_scalars as an object), "scheduler" (LrScheduler::state),
//   "progress" ({"epoch", "global_step", "loader_epoch", "loader_batch"}),
//   "rng" ({name: {"s": [4 words], "spare_bits", "has_spare"}}, doubles as their bit patterns),
//   and the `extra` entries.
// Written with save_safetensors, so a failed save leaves any previous file at `path` intact.
void save_checkpoint(const std::string& path, const Module& model, const CheckpointParts& parts = {});

// Where load_checkpoint restores to. A null optimizer / scheduler skips that part of the file;
// a non-null one requires the file to hold state of the same kind.
struct CheckpointTargets {
  Optimizer* optimizer = nullptr;
  LrScheduler* scheduler = nullptr;
  std::map<std::string, Generator*> generators{};  // each must be in the file
  bool restore_default_generator = true;
};

struct CheckpointInfo {
  TrainingProgress progress{};
  std::map<std::string, std::string> metadata{};  // every __metadata__ entry, `extra` ones included
};

// Checks the file first — format, model tensors (missing, unexpected, mis-shaped, listed all
// at once), optimizer and scheduler kinds, generators — and only then restores; every failure
// is an ouro::Error starting with "load_checkpoint '<path>': ".
CheckpointInfo load_checkpoint(const std::string& path, Module& model, const CheckpointTargets& targets = {});

// The progress entry of a training checkpoint, read from its header alone (no tensors loaded).
TrainingProgress read_checkpoint_progress(const std::string& path);

// The module tree's type names and configurations as JSON text (the "model_config" entry).
std::string model_config_json(const Module& model);

}  // namespace ouro
