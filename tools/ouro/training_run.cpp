// Turns a Config into the Trainer's objects; the training itself is Trainer::fit.
#include "training_run.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "cli.h"
#include "ouro/io/atomic_file.h"
#include "ouro/optim/adagrad.h"
#include "ouro/optim/adam.h"
#include "ouro/optim/rmsprop.h"
#include "ouro/optim/schedule.h"
#include "ouro/optim/sgd.h"
#include "ouro/train/callbacks.h"
#include "ouro/train/checkpoint.h"
#include "ouro/train/run_directory.h"
#include "ouro/train/trainer.h"
#include "finetune_run.h"
#include "task.h"

namespace ouro::cli {
namespace {

// One group of every parameter, or (decay_matrices_only) matrices and embeddings with the
// configured weight decay and vectors (biases, LayerNorm gains) without: decaying a gain
// towards zero only fights the normalisation it scales.
std::vector<ParamGroup> parameter_groups(std::vector<Tensor> params, bool decay_matrices_only) {
  if (!decay_matrices_only) return {ParamGroup{.params = std::move(params)}};
  ParamGroup matrices, vectors;
  for (Tensor& p : params) (p.dim() >= 2 ? matrices : vectors).params.push_back(std::move(p));
  vectors.weight_decay = 0.0;
  std::vector<ParamGroup> groups;
  for (ParamGroup* g : {&matrices, &vectors})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

std::shared_ptr<Optimizer> make_optimizer(const OptimConfig& o, std::vector<Tensor> params, bool decay_matrices_only) {
  std::vector<ParamGroup> groups = parameter_groups(std::move(params), decay_matrices_only);
  if (o.name == "sgd")
    return std::make_shared<SGD>(std::move(groups),
                                 SGDOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
  if (o.name == "adam")
    return std::make_shared<Adam>(std::move(groups), AdamOptions{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2,
                                                                 .eps = o.eps, .weight_decay = o.weight_decay});
  if (o.name == "adamw")
    return std::make_shared<AdamW>(std::move(groups), AdamWOptions{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2,
                                                                   .eps = o.eps, .weight_decay = o.weight_decay});
  if (o.name == "rmsprop")
    return std::make_shared<RMSProp>(std::move(groups), RMSPropOptions{.lr = o.lr, .eps = o.eps,
                                                                       .weight_decay = o.weight_decay,
                                                                       .momentum = o.momentum});
  if (o.name == "adagrad")
    return std::make_shared<Adagrad>(std::move(groups),
                                     AdagradOptions{.lr = o.lr, .weight_decay = o.weight_decay, .eps = o.eps});
  throw UsageError("optim.name = \"" + o.name + "\" is not an optimizer");
}

// The schedule's length in its own unit when schedule.total_steps is 0: the whole run.
std::int64_t run_length(const Config& c, std::int64_t train_samples) {
  if (c.schedule.unit == "epoch") return c.train.epochs;
  const std::int64_t batches = (train_samples + c.train.batch_size - 1) / c.train.batch_size;
  const std::int64_t steps = c.train.epochs * ((batches + c.train.gradient_accumulation_steps - 1) /
                                               c.train.gradient_accumulation_steps);
  return c.train.max_steps > 0 ? std::min(steps, c.train.max_steps) : steps;
}

CallbackPtr make_schedule(const ScheduleConfig& s, std::int64_t total) {
  const ScheduleUnit unit = s.unit == "epoch" ? ScheduleUnit::Epoch : ScheduleUnit::Step;
  LearningRateScheduler::Factory factory = [s, total](Optimizer& opt) -> std::shared_ptr<LrScheduler> {
    if (s.type == "step") return std::make_shared<StepSchedule>(opt, StepScheduleOptions{s.step_size, s.gamma});
    if (s.type == "exponential") return std::make_shared<ExponentialSchedule>(opt, ExponentialScheduleOptions{s.gamma});
    if (s.type == "warmup_cosine")
      return std::make_shared<WarmupCosineSchedule>(
          // A run shorter than its warm-up (e.g. a smoke test) ends while still warming up.
          opt, WarmupCosineOptions{s.warmup_steps,
                                   s.total_steps > 0 ? s.total_steps : std::max({total, s.warmup_steps, std::int64_t{1}}),
                                   s.min_lr});
    return std::make_shared<ConstantSchedule>(opt);
  };
  return std::make_shared<LearningRateScheduler>(factory, unit);
}

// Ends fit after the step that passes a wall-time budget (train.max_seconds). The final
// checkpoint is written as for any other stop, so the run can be resumed; where it stops
// depends on the machine's speed, which is why this is a budget, not part of the recipe.
class TimeLimit : public Callback {
 public:
  explicit TimeLimit(double seconds) : seconds_(seconds) {}
  void on_train_begin() override { start_ = std::chrono::steady_clock::now(); }
  void on_batch_end(std::int64_t, const Logs&) override {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    if (elapsed.count() >= seconds_) request_stop("reached max_seconds = " + std::to_string(seconds_));
  }

 private:
  double seconds_;
  std::chrono::steady_clock::time_point start_;
};

// Ctrl-C (SIGINT) or SIGTERM during training: the first one ends fit after the current step,
// so that the final checkpoint is written and `ouro resume` can continue; a second one
// kills the process as usual.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int signal_number) {
  g_interrupted = signal_number;
  std::signal(signal_number, SIG_DFL);
}

class StopOnInterrupt : public Callback {
 public:
  void on_batch_end(std::int64_t, const Logs&) override {
    if (g_interrupted != 0) request_stop(g_interrupted == SIGINT ? "interrupted (SIGINT)" : "interrupted (SIGTERM)");
  }
};

// train.debug_inject_nan_step: a test hook that puts a NaN into one gradient element before
// that step's update, as a numerical blow-up would. The last trainable parameter gets it, so
// that a report naming "the first parameter with a non-finite gradient" is seen to search.
class InjectNanGradient : public Callback {
 public:
  explicit InjectNanGradient(std::int64_t step) : step_(step) {}
  void on_before_optimizer_step(std::int64_t step, const Logs&) override {
    if (step != step_) return;
    const auto parameters = trainer().model().named_parameters(/*trainable_only=*/true);
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
      Tensor grad = it->second.grad();
      if (!grad.defined() || grad.dtype() != DType::Float32 || !grad.is_contiguous()) continue;
      grad.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
      std::fprintf(stderr, "train.debug_inject_nan_step: a NaN in the gradient of %s at step %lld\n",
                   it->first.c_str(), static_cast<long long>(step));
      return;
    }
    throw Error("train.debug_inject_nan_step: no float32 gradient to put a NaN into");
  }

 private:
  std::int64_t step_;
};

// A new run that fails before its first checkpoint leaves nothing behind: remembers what was
// at train.run_dir before the run began, so that only what this process created is removed
// (the whole directory, and any parents it made, when it did not exist).
class NewRunOutput {
 public:
  explicit NewRunOutput(const std::string& run_dir) : run_dir_(std::filesystem::absolute(run_dir)) {
    namespace fs = std::filesystem;
    auto present = [](const fs::path& p) {
      std::error_code ec;
      return fs::exists(fs::symlink_status(p, ec));
    };
    if (!present(run_dir_)) {
      created_root_ = run_dir_;
      while (created_root_.has_parent_path() && created_root_.parent_path() != created_root_ &&
             !present(created_root_.parent_path()))
        created_root_ = created_root_.parent_path();
      return;
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(run_dir_, ec)) existing_.insert(entry.path().filename().string());
  }

  // Called on failure: removes what the run created, unless it committed a checkpoint (then
  // the run is resumable and everything stays).
  void discard() const {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(run_dir_ / "checkpoints" / "latest", ec)) return;
    if (!created_root_.empty()) {
      fs::remove_all(created_root_, ec);
      return;
    }
    for (const auto& entry : fs::directory_iterator(run_dir_, ec))
      if (!existing_.count(entry.path().filename().string())) {
        std::error_code ignored;
        fs::remove_all(entry.path(), ignored);
      }
  }

 private:
  std::filesystem::path run_dir_, created_root_;
  std::set<std::string> existing_;
};

Verbosity verbosity(const std::string& progress) {
  if (progress == "bar") return Verbosity::Bar;
  if (progress == "lines") return Verbosity::Lines;
  if (progress == "silent") return Verbosity::Silent;
  return Verbosity::Auto;
}

}  // namespace

int run_training(const Config& config, const std::string& resume_from) {
  const RunDirectory run(config.train.run_dir);
  TaskData data;
  // A fine-tuning run ([finetune] mode set) starts from its base checkpoint's weights.
  const bool finetuning = !config.finetune.mode.empty();
  FinetuneState finetune;
  TaskModel task = finetuning ? prepare_finetuning_run(config, data, resume_from.empty(), finetune)
                              : task_for(config.model.type).prepare_training(config, data);

  Trainer trainer(task.model);
  CompileOptions compile;
  const OptimConfig optim = config.optim;
  const bool decay_matrices_only = task.decay_matrices_only;
  compile.optimizer = [optim, decay_matrices_only](std::vector<Tensor> params) {
    return make_optimizer(optim, std::move(params), decay_matrices_only);
  };
  compile.loss = task.loss;
  for (const std::string& m : task.metrics) compile.metrics.emplace_back(m);
  trainer.compile(std::move(compile));

  std::map<std::string, std::string> metadata = task.metadata;
  metadata[kConfigMetadataKey] = nlohmann::json(config_to_toml(config)).dump();
  trainer.set_checkpoint_metadata(metadata);

  FitOptions fit;
  fit.epochs = config.train.epochs;
  fit.batch_size = config.train.batch_size;
  fit.validation_data = data.validation;
  fit.seed = static_cast<std::uint64_t>(config.train.seed);
  fit.shuffle = task.shuffle;
  fit.drop_last = task.drop_last;
  for (const auto& callback : task.callbacks) fit.callbacks.push_back(callback);
  fit.gradient_accumulation_steps = config.train.gradient_accumulation_steps;
  if (config.optim.clip_grad_norm > 0) fit.clip_grad_norm = config.optim.clip_grad_norm;
  fit.max_steps = config.train.max_steps;
  fit.verbose = verbosity(config.train.progress);
  fit.resume_from = resume_from;
  for (const auto& [name, generator] : task.generators) fit.generators[name] = generator.get();
  fit.callbacks.push_back(make_schedule(config.schedule, run_length(config, data.train.size())));
  fit.callbacks.push_back(std::make_shared<MetricsLogger>(
      MetricsLoggerOptions{.path = run.metrics_path(), .format = LogFormat::JsonLines, .epochs = true,
                           .every_n_steps = config.train.log_every, .throughput = true,
                           .tokens_per_sample = task.tokens_per_sample}));
  auto checkpoints = std::make_shared<RunCheckpoint>(
      run, RunCheckpointOptions{.every_n_steps = config.train.checkpoint_every, .at_epoch_end = true,
                                .at_train_end = true, .keep = config.train.keep_checkpoints});
  if (config.train.debug_inject_nan_step >= 0)
    fit.callbacks.push_back(std::make_shared<InjectNanGradient>(config.train.debug_inject_nan_step));
  auto nan_check = std::make_shared<TerminateOnNaN>(config.train.on_nan == "skip" ? NanAction::Skip : NanAction::Stop);
  fit.callbacks.push_back(nan_check);
  if (config.train.max_seconds > 0) fit.callbacks.push_back(std::make_shared<TimeLimit>(config.train.max_seconds));
  fit.callbacks.push_back(std::make_shared<StopOnInterrupt>());
  fit.callbacks.push_back(checkpoints);

  if (!resume_from.empty()) {
    // A run killed mid-write leaves temporaries, and metrics of steps after its last checkpoint,
    // which the resumed run writes again.
    run.remove_stale_temporaries();
    run.rewind_metrics(read_checkpoint_progress(resume_from));
  }

  g_interrupted = 0;
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const History history = trainer.fit(data.train, fit);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  std::printf("%s: %lld steps", resume_from.empty() ? "trained" : "resumed and trained",
              static_cast<long long>(history.global_step));
  for (const char* key : {"loss", "val_loss"})
    if (history.values.count(key) && !history.values.at(key).empty())
      std::printf(", %s %.6g", key, history.values.at(key).back());
  if (!history.stop_reason.empty()) std::printf(" (%s)", history.stop_reason.c_str());
  std::printf("\n");
  if (nan_check->triggered() > 0 && config.train.on_nan == "stop") {
    const auto latest = run.latest_checkpoint();
    throw Error(nan_check->message() + "; " +
                (latest ? "the latest checkpoint is " + *latest + "; to skip such steps, continue with `ouro resume " +
                              run.path() + " --set train.on_nan=skip`"
                        : std::string("no checkpoint was written yet; to skip such steps, start again with "
                                      "--set train.on_nan=skip")));
  }
  if (task.final_report && !finetuning)  // a fine-tuning run reports before / after below
    for (const auto& [key, value] : task.final_report()) std::printf("%s: %.6g\n", key.c_str(), value);
  if (finetuning && g_interrupted == 0) finish_finetuning_run(config, task, run, finetune);
  if (const auto latest = run.latest_checkpoint()) std::printf("checkpoint: %s\n", latest->c_str());
  std::printf("metrics: %s\n", run.metrics_path().c_str());
  if (g_interrupted != 0) {
    std::printf("interrupted: continue with `ouro resume %s`\n", run.path().c_str());
    return kExitInterrupted;
  }
  return kExitOk;
}

int start_new_run(Config config) {
  namespace fs = std::filesystem;
  if (fs::exists(config.data.path)) config.data.path = fs::absolute(config.data.path).lexically_normal().string();
  // Looked at without creating anything: a refused run leaves no trace.
  if (fs::is_directory(config.train.run_dir + "/checkpoints")) {
    const RunDirectory existing(config.train.run_dir);
    if (existing.latest_checkpoint() || !existing.checkpoints().empty())
      throw UsageError("train.run_dir '" + config.train.run_dir +
                       "' already holds a run with checkpoints: continue it with `ouro resume " +
                       config.train.run_dir + "`, or choose another train.run_dir (e.g. --set train.run_dir=...)");
  }
  const NewRunOutput output(config.train.run_dir);
  try {
    const RunDirectory run(config.train.run_dir);
    // What an earlier start that died before its first checkpoint left there belongs to no run.
    run.remove_stale_temporaries();
    run.rewind_metrics(TrainingProgress{});
    write_file_atomically(run.config_path(), config_to_toml(config));
    return run_training(config, "");
  } catch (...) {
    output.discard();
    throw;
  }
}

}  // namespace ouro::cli
