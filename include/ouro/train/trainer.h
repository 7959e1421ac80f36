// Trainer: the Keras-style loop around a Module — compile (optimizer, loss, metrics), fit with
// validation, callbacks, gradient accumulation, clipping and exact resume from a checkpoint;
// evaluate and predict.
#pragma once
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ouro/data/dataset.h"
#include "ouro/data/loader.h"
#include "ouro/nn/module.h"
#include "ouro/optim/optimizer.h"
#include "ouro/tensor/random.h"
#include "ouro/train/callbacks.h"
#include "ouro/train/metrics.h"
#include "ouro/train/progress.h"

namespace ouro {

// A loss of (prediction, target) returning a one-element tensor: the mean over the batch.
using LossFunction = std::function<Tensor(const Tensor& prediction, const Tensor& target)>;

// A loss by name:
//   "mse", "mae", "huber" (delta 1), "binary_crossentropy" (on probabilities),
//   "binary_crossentropy_with_logits": elementwise; the target is cast to the prediction's
//     dtype and reshaped to its shape when only size-1 dimensions differ ([N] vs [N, 1]);
//   "categorical_crossentropy": logits [..., C] against probability / one-hot targets [..., C];
//   "sparse_categorical_crossentropy": logits [..., C] against int64 class ids [...].
// Both cross-entropies take logits (softmax is fused in, as from_logits=True in Keras).
LossFunction make_loss(const std::string& name);

struct LossSpec {
  LossSpec() = default;
  LossSpec(const char* loss_name) : name(loss_name) {}
  LossSpec(std::string loss_name) : name(std::move(loss_name)) {}
  template <typename F>
    requires(std::is_invocable_r_v<Tensor, F, const Tensor&, const Tensor&> &&
             !std::is_convertible_v<F, std::string>)
  LossSpec(F loss) : function(std::move(loss)) {}
  std::string name{};       // one of make_loss's names, or empty with
  LossFunction function;  // a user loss
};

using OptimizerFactory = std::function<std::shared_ptr<Optimizer>(std::vector<Tensor> trainable_params)>;

struct OptimizerSpec {
  OptimizerSpec() = default;
  template <typename O>
    requires std::derived_from<O, Optimizer>
  OptimizerSpec(std::shared_ptr<O> given) : optimizer(std::move(given)) {}
  template <typename F>
    requires std::is_invocable_r_v<std::shared_ptr<Optimizer>, F, std::vector<Tensor>>
  OptimizerSpec(F make) : factory(std::move(make)) {}
  std::shared_ptr<Optimizer> optimizer{};  // built over the model's parameters already, or
  OptimizerFactory factory;              // called by compile with the trainable parameters
};

struct MetricSpec {
  MetricSpec(const char* metric_name) : metric(make_metric(metric_name)) {}
  MetricSpec(const std::string& metric_name) : metric(make_metric(metric_name)) {}
  template <typename M>
    requires std::derived_from<M, Metric>
  MetricSpec(std::shared_ptr<M> given) : metric(std::move(given)) {}
  MetricPtr metric;
};

struct CompileOptions {
  OptimizerSpec optimizer{};
  LossSpec loss{};
  std::vector<MetricSpec> metrics{};
};

struct FitOptions {
  std::int64_t epochs = 1;
  std::int64_t batch_size = 32;
  // Validation at each epoch end: validation_data if given, else the last
  // round(validation_split * N) samples of the training data, taken before any shuffling as
  // Keras does — or a seeded random subset when validation_split_seed is set.
  std::optional<Dataset> validation_data{};
  double validation_split = 0;
  std::optional<std::uint64_t> validation_split_seed{};
  std::int64_t validation_batch_size = 0;  // 0: batch_size
  bool shuffle = true;  // reshuffle every epoch by a permutation depending only on (seed, epoch)
  std::uint64_t seed = 0;
  bool drop_last = false;
  std::vector<CallbackPtr> callbacks{};
  // One optimizer step per this many loader batches; each batch's loss is divided by the
  // number of batches in its group (the last group of an epoch may be shorter), so for equal
  // batches the step sees the gradient of the mean over all of the group's samples.
  std::int64_t gradient_accumulation_steps = 1;
  std::optional<double> clip_grad_norm{};  // max 2-norm of all trainable gradients, before each step
  std::int64_t max_steps = 0;            // stop once global_step reaches this (0: no limit)
  Verbosity verbose = Verbosity::Auto;
  std::FILE* progress_stream = nullptr;  // stdout when null
  // A training checkpoint (Trainer::save_checkpoint / ModelCheckpoint) to continue from:
  // weights, optimizer, scheduler, epoch, step, loader position, the epoch's running loss and
  // metrics, History so far and RNG states are restored; the data, batch_size,
  // gradient_accumulation_steps and shuffle must match the run that wrote it.
  std::string resume_from{};
  // Generators the run draws from besides ouro::default_generator() (e.g. a Dropout's),
  // saved into and restored from checkpoints by name.
  std::map<std::string, Generator*> generators{};
};

struct History {
  std::vector<std::int64_t> epochs{};                    // 0-based epoch of each entry
  std::map<std::string, std::vector<double>> values{};   // "loss", "val_loss", "accuracy", "lr", ...
  std::int64_t global_step = 0;                        // optimizer steps taken at the end
  std::string stop_reason{};                             // empty when training ran to the end
  // values.at(key), or an error listing the keys there are.
  const std::vector<double>& operator[](const std::string& key) const;
};

class Trainer {
 public:
  explicit Trainer(ModulePtr model);

  // Sets the optimizer (or builds it over the trainable parameters), the loss and the metrics.
  void compile(CompileOptions options);
  History fit(const Dataset& train, FitOptions options = {});
  // Loss and metrics over a dataset, in eval mode without a graph: {"loss", metric names...}.
  std::map<std::string, double> evaluate(const Dataset& data, std::int64_t batch_size = 32);
  // The model's outputs for inputs [N, ...], batch by batch, in eval mode without a graph; the
  // model's mode is restored afterwards.
  Tensor predict(const Tensor& inputs, std::int64_t batch_size = 32);

  // A full training checkpoint of where this trainer stands (see checkpoint.h); during fit
  // it resumes with the step after the current one.
  void save_checkpoint(const std::string& path) const;
  // More __metadata__ entries (JSON strings) for every checkpoint this trainer writes, e.g.
  // the run's config and a vocabulary, so that a checkpoint alone can rebuild its model.
  void set_checkpoint_metadata(std::map<std::string, std::string> metadata) { checkpoint_metadata_ = std::move(metadata); }

  // Ends fit after the current hook; reason goes into History::stop_reason.
  void stop_training(std::string reason);
  // From Callback::on_before_optimizer_step: this step's update is left out (no clipping, no
  // optimizer step; its gradients are dropped at the next zero_grad) but the step still counts
  // — global_step, the data position, the schedule and on_batch_end advance as for any step —
  // so that the run keeps its length and its checkpoints' numbering. Its loss is left out of
  // the epoch's average (its metrics are not: they were already updated). skipped_steps()
  // counts them over the run, resumes included; once it is > 0, the step and epoch logs carry
  // it as "skipped_steps".
  void skip_step();
  std::int64_t skipped_steps() const { return skipped_steps_; }
  bool stop_requested() const { return stop_requested_; }
  // Whether fit stopped inside a step, from on_before_optimizer_step (e.g. TerminateOnNaN): that
  // step's forward pass has already moved the run's state (RNG draws, a stateful model's carried
  // state, the epoch's metrics), so a checkpoint taken now would not resume exactly; the last
  // one written before it is the one to resume from.
  bool stopped_inside_step() const { return stopped_inside_step_; }
  const std::string& stop_reason() const { return stop_reason_; }

  Module& model() const { return *model_; }
  const ModulePtr& model_ptr() const { return model_; }
  Optimizer& optimizer() const;
  const std::vector<MetricPtr>& metrics() const { return metrics_; }
  const History& history() const { return history_; }

  // ---- where fit stands (for callbacks and progress) ----
  std::int64_t epoch() const { return position_.epoch; }
  std::int64_t epochs() const { return epochs_; }
  std::int64_t global_step() const { return global_step_; }
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }
  std::int64_t steps_done_in_epoch() const { return (position_.batch + accumulation_ - 1) / accumulation_; }
  std::int64_t samples_in_epoch() const { return static_cast<std::int64_t>(epoch_samples_); }
  DataLoader::State loader_state() const { return position_; }

 private:
  struct Run;  // one fit's data, loader and callbacks
  Tensor prepare_input(const Tensor& inputs) const;
  Tensor compute_loss(const Tensor& prediction, const Tensor& target) const;
  void run_epoch(Run& run);
  void finish_epoch(Run& run);
  void resume(Run& run, const std::string& path);
  std::string trainer_state_json() const;
  void reset_epoch_accumulators();

  ModulePtr model_;
  std::shared_ptr<Optimizer> optimizer_;
  LossFunction loss_;
  std::vector<MetricPtr> metrics_;
  bool compiled_ = false;
  DType model_dtype_ = DType::Float32;

  // fit state
  Run* run_ = nullptr;
  History history_;
  DataLoader::State position_;
  std::int64_t epochs_ = 0, global_step_ = 0, steps_per_epoch_ = 0, accumulation_ = 1;
  double epoch_loss_sum_ = 0, epoch_samples_ = 0;
  double last_lr_ = 0;  // the lr the latest step used: what the epoch's logs report
  bool stop_requested_ = false, skip_requested_ = false, stopped_inside_step_ = false;
  std::int64_t skipped_steps_ = 0;
  std::string stop_reason_;
  // Kept after fit so that save_checkpoint still sees the scheduler and generators it drove.
  std::vector<CallbackPtr> callbacks_;
  LrScheduler* scheduler_ = nullptr;
  // The last fit's data and batching, which a resume must match (train_samples < 0: none yet).
  struct RunShape {
    std::int64_t train_samples = -1, batch_size = 0, accumulation = 0;
    bool shuffle = false, drop_last = false;
    std::uint64_t seed = 0;
  } run_shape_;
  std::map<std::string, Generator*> generators_;
  std::map<std::string, std::string> checkpoint_metadata_;
};

}  // namespace ouro
