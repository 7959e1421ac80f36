// Callbacks: hooks into Trainer::fit (Keras style) and the stock ones — EarlyStopping,
// ModelCheckpoint, LearningRateScheduler, MetricsLogger, TerminateOnNaN.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ouro/nn/module.h"
#include "ouro/optim/schedule.h"

namespace ouro {

// Values by key: "loss", "accuracy", "val_loss", "lr", ...
using Logs = std::map<std::string, double>;

class Trainer;

// Every hook does nothing by default. `step` is the global optimizer step: a "batch" here is
// one optimizer step, i.e. gradient_accumulation_steps loader batches. on_batch_begin(step)
// comes before its first forward, on_batch_end(step, logs) after optimizer.step(), when
// trainer().global_step() == step + 1. Batch logs hold "loss" (this step's, mean over its
// samples), "lr" (the lr the step used) and the epoch-so-far value of every metric; epoch logs
// hold the epoch's loss and metrics, the validation ones ("val_" + name) and "lr" (the lr the
// epoch's last step used).
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin() {}
  virtual void on_train_end(const Logs& /*last_epoch_logs*/) {}
  virtual void on_epoch_begin(std::int64_t /*epoch*/) {}
  virtual void on_epoch_end(std::int64_t /*epoch*/, const Logs& /*logs*/) {}
  virtual void on_batch_begin(std::int64_t /*step*/) {}
  // After backward (gradients accumulated, not yet clipped), before the optimizer step. A stop
  // requested here skips the step and ends fit at once, with no on_batch_end / on_epoch_end:
  // how TerminateOnNaN keeps bad values out of the weights and of any checkpoint.
  virtual void on_before_optimizer_step(std::int64_t /*step*/, const Logs& /*logs*/) {}
  virtual void on_batch_end(std::int64_t /*step*/, const Logs& /*logs*/) {}
  // The scheduler this callback drives, saved into and restored from training checkpoints.
  virtual LrScheduler* scheduler() { return nullptr; }

  // The trainer running this callback (set by fit; an error outside fit).
  Trainer& trainer() const;
  // Ends fit after the current hook (Trainer::stop_training).
  void request_stop(const std::string& reason);

 private:
  friend class Trainer;
  Trainer* trainer_ = nullptr;
};

using CallbackPtr = std::shared_ptr<Callback>;

// Whether a monitored value improves by going down or up. Auto: up for names containing
// "acc", "precision", "recall", "f1" or "r2", down otherwise (as Keras).
enum class MonitorMode { Auto, Min, Max };

// The value of `monitor` in `logs`, or an error naming `who`, the key and the keys there are.
double monitored_value(const char* who, const std::string& monitor, const Logs& logs);

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  MonitorMode mode = MonitorMode::Auto;
  std::int64_t patience = 0;  // stop after this many epochs in a row without improvement (at least 1, as Keras)
  double min_delta = 0;       // an improvement must beat the best by more than this
  bool restore_best_weights = false;  // at the end of training, load the best epoch's weights
};

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin() override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;
  double best() const { return best_; }
  std::int64_t best_epoch() const { return best_epoch_; }
  std::int64_t stopped_epoch() const { return stopped_epoch_; }  // -1 when it did not stop training

 private:
  EarlyStoppingOptions options_;
  bool maximize_ = false;
  double best_ = 0;
  std::int64_t best_epoch_ = -1, wait_ = 0, stopped_epoch_ = -1;
  StateDict best_weights_;
};

struct ModelCheckpointOptions {
  // A file path, where "{epoch}" (1-based, as Keras) and "{step}" are replaced, or an existing
  // directory (then <dir>/checkpoint.safetensors). A fixed path is replaced atomically each
  // time, so it always holds the last good checkpoint.
  std::string path{};
  std::int64_t every_n_epochs = 1;  // 0: not at epoch ends
  std::int64_t every_n_steps = 0;   // 0: not at steps; else every n optimizer steps
  bool save_best_only = false;      // only when `monitor` improves on the best seen
  std::string monitor = "val_loss";
  MonitorMode mode = MonitorMode::Auto;
};

// Saves full training checkpoints (Trainer::save_checkpoint), resumable with
// FitOptions::resume_from.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options);
  void on_train_begin() override;
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  const std::vector<std::string>& saved() const { return saved_; }  // paths written, in order

 private:
  void maybe_save(const Logs& logs, std::int64_t epoch, std::int64_t step);
  ModelCheckpointOptions options_;
  bool maximize_ = false;
  bool has_best_ = false;
  double best_ = 0;
  std::vector<std::string> saved_;
};

enum class ScheduleUnit { Step, Epoch };

// Drives an lr schedule: a Schedule steps after every optimizer step (Step) or every epoch
// (Epoch); a ReduceLROnPlateau is fed `monitor` at each epoch end (Epoch, e.g. "val_loss") or
// each step's "loss" (Step); a plain function sets lr = fn(epoch, lr) at each epoch's start.
class LearningRateScheduler : public Callback {
 public:
  using Factory = std::function<std::shared_ptr<LrScheduler>(Optimizer&)>;
  using EpochFunction = std::function<double(std::int64_t epoch, double lr)>;

  LearningRateScheduler(std::shared_ptr<LrScheduler> scheduler, ScheduleUnit unit = ScheduleUnit::Epoch,
                        std::string monitor = "val_loss");
  // Built at on_train_begin from the trainer's optimizer (which compile may have made).
  LearningRateScheduler(Factory factory, ScheduleUnit unit = ScheduleUnit::Epoch, std::string monitor = "val_loss");
  explicit LearningRateScheduler(EpochFunction function);

  void on_train_begin() override;
  void on_epoch_begin(std::int64_t epoch) override;
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  LrScheduler* scheduler() override { return scheduler_.get(); }

 private:
  void advance(const Logs& logs, bool epoch_end);
  std::shared_ptr<LrScheduler> scheduler_;
  Factory factory_;
  EpochFunction function_;
  ScheduleUnit unit_;
  std::string monitor_;
};

enum class LogFormat { Auto, Csv, JsonLines };  // Auto: Csv for a ".csv" path, else JSON lines

struct MetricsLoggerOptions {
  std::string path{};
  LogFormat format = LogFormat::Auto;
  bool epochs = true;              // one record per epoch
  std::int64_t every_n_steps = 0;  // and one every n optimizer steps (0: none)
  // Step records also get "samples_per_s": training samples per second of wall time since the
  // previous step record (or since fit began), and, with tokens_per_sample > 0, "tokens_per_s".
  bool throughput = false;
  std::int64_t tokens_per_sample = 0;
};

// Appends one record per logged epoch / step: a JSON object per line ({"kind": "epoch" or
// "step", "epoch", "step", then the logs; non-finite values as null}) or a CSV row (the
// columns are fixed by the first row ever written, taken from the file's header when it
// exists, as Keras's CSVLogger; keys not in it are dropped, missing ones left empty). Each
// record is one write(2) of a complete line on a file opened O_APPEND, so a crash never leaves
// half a line and a resumed run appends to the same file.
class MetricsLogger : public Callback {
 public:
  explicit MetricsLogger(MetricsLoggerOptions options);
  ~MetricsLogger() override;
  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;
  void on_train_begin() override;
  void on_epoch_begin(std::int64_t epoch) override;
  void on_batch_begin(std::int64_t step) override;
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  void write_record(const char* kind, std::int64_t epoch, std::int64_t step, const Logs& logs);
  MetricsLoggerOptions options_;
  // Throughput bookkeeping: samples counted since the last step record, the epoch's sample
  // count at that record, and when it was written (seconds on a steady clock).
  double samples_since_record_ = 0, epoch_samples_seen_ = 0, record_time_ = 0;
  Logs with_throughput_;
  bool csv_ = false;
  int fd_ = -1;
  std::vector<std::string> columns_;  // CSV only
  std::string line_;                  // reused between records
};

// What TerminateOnNaN does about a step with a non-finite loss or gradient.
enum class NanAction {
  Stop,   // end fit before the step's update (Trainer::stop_training)
  Throw,  // the same, as an ouro::Error thrown out of fit
  Skip,   // leave the step's update out and go on (Trainer::skip_step); a warning on stderr
};

// Watches each step's loss and (check_gradients) every gradient element, before the step
// updates the weights; on a NaN or infinity it acts (NanAction) with a message that names the
// step (global steps taken before it, as checkpoints count them), the epoch and the first
// parameter whose gradient is non-finite. A stopped run's checkpoints hold no bad value, since
// the step never reached the weights. Checking gradients reads every gradient once per step.
class TerminateOnNaN : public Callback {
 public:
  explicit TerminateOnNaN(bool check_gradients = true, bool throw_error = false)
      : check_gradients_(check_gradients), action_(throw_error ? NanAction::Throw : NanAction::Stop) {}
  explicit TerminateOnNaN(NanAction action, bool check_gradients = true)
      : check_gradients_(check_gradients), action_(action) {}
  void on_train_begin() override;
  void on_before_optimizer_step(std::int64_t step, const Logs& logs) override;
  // The latest message (empty while every step was finite) and how many steps it acted on.
  const std::string& message() const { return message_; }
  std::int64_t triggered() const { return triggered_; }

 private:
  bool check_gradients_;
  NanAction action_;
  std::string message_;
  std::int64_t triggered_ = 0;
  std::vector<std::pair<std::string, Tensor>> parameters_;  // cached: named_parameters builds strings
};

}  // namespace ouro
