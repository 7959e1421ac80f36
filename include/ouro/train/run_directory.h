// A training run's directory: the config it ran with (config.toml), its checkpoints
// (checkpoints/step-<N>.safetensors, the newest few kept, checkpoints/latest naming the newest)
// and its metrics log (metrics.jsonl), plus the callback that keeps the checkpoints.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ouro/train/callbacks.h"
#include "ouro/train/checkpoint.h"

namespace ouro {

// Appends one record (a JSON object's text, without the newline) to a metrics log as a single
// write with O_APPEND, so that a crash leaves the line whole or absent (rewind_metrics drops a
// torn one). `who` names the writer in errors.
void append_metrics_record(const std::string& metrics_path, const std::string& record_json, const std::string& who);
// Whether the metrics log at `metrics_path` holds a record of `kind` for global step `step`
// (false when there is no log).
bool metrics_has_record(const std::string& metrics_path, const std::string& kind, std::int64_t step);

class RunDirectory {
 public:
  // Creates `path` and path/checkpoints when missing; an existing file there, or a directory
  // that cannot be created, throws ouro::Error naming it.
  explicit RunDirectory(std::string path);

  const std::string& path() const { return path_; }
  std::string config_path() const { return path_ + "/config.toml"; }
  std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
  std::string checkpoints_dir() const { return path_ + "/checkpoints"; }
  std::string checkpoint_path(std::int64_t step) const;  // checkpoints/step-00000042.safetensors

  // The checkpoints present, oldest (lowest step) first.
  std::vector<std::string> checkpoints() const;
  // The checkpoint checkpoints/latest names; std::nullopt when there is none yet. A pointer
  // to a file that is gone throws ouro::Error.
  std::optional<std::string> latest_checkpoint() const;
  // Points checkpoints/latest at `checkpoint` (atomically, after the checkpoint itself is on
  // disk) and deletes all but the newest `keep` checkpoints.
  void commit_checkpoint(const std::string& checkpoint, std::int64_t keep) const;

  // Before a resume from a checkpoint at `progress`: cuts the metrics log back to the records
  // that checkpoint covers, so that the steps redone after it are not logged twice. Kept: the
  // leading records with "step" <= progress.global_step, except "epoch" records, which are
  // kept for epochs before progress.loader.epoch (an epoch whose end is redone is logged
  // again); the log is
  // cut at the first record past those, or at the first torn (unterminated or unparseable)
  // line, which a crash mid-write leaves. Returns the number of bytes removed.
  std::uint64_t rewind_metrics(const TrainingProgress& progress) const;
  // Removes the temporary files (name.tmp.<pid>.<n>) that a process killed in the middle of an
  // atomic write left in the run directory and its checkpoints, unless that process still runs.
  // Returns how many were removed.
  std::int64_t remove_stale_temporaries() const;

 private:
  std::string path_;
};

struct RunCheckpointOptions {
  std::int64_t every_n_steps = 0;  // 0: not at steps
  bool at_epoch_end = true;
  bool at_train_end = true;        // so that a run stopped by max_steps can be resumed (not
                                   // one stopped inside a step: Trainer::stopped_inside_step)
  std::int64_t keep = 3;           // newest checkpoints kept (>= 1)
};

// Writes full training checkpoints (Trainer::save_checkpoint) into a RunDirectory, each step
// at most once, then commits it (latest pointer, pruning).
class RunCheckpoint : public Callback {
 public:
  RunCheckpoint(RunDirectory directory, RunCheckpointOptions options);
  void on_train_begin() override;
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;
  const std::vector<std::string>& saved() const { return saved_; }

 private:
  void save();
  RunDirectory directory_;
  RunCheckpointOptions options_;
  std::int64_t last_saved_step_ = -1;
  std::vector<std::string> saved_;
};

}  // namespace ouro
