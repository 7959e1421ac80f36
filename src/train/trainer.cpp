#include "ouro/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/io/safetensors.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/clip.h"
#include "ouro/train/checkpoint.h"

namespace ouro {
namespace {

using nlohmann::json;

// The target as the elementwise losses want it: the prediction's dtype, and its shape when the
// two differ only by size-1 dimensions ([N] against [N, 1] would otherwise broadcast to [N, N]).
Tensor align_target(const char* who, const Tensor& prediction, const Tensor& target) {
  OURO_CHECK(target.defined(), who, ": the dataset has no targets");
  Tensor t = target.dtype() == prediction.dtype() ? target : target.to(prediction.dtype());
  if (t.shape() == prediction.shape()) return t;
  auto squeezed = [](const Shape& s) {
    Shape out;
    for (std::int64_t d : s)
      if (d != 1) out.push_back(d);
    return out;
  };
  OURO_CHECK(squeezed(t.shape()) == squeezed(prediction.shape()), who, ": prediction ",
             shape_str(prediction.shape()), " and target ", shape_str(target.shape()), " differ in shape");
  return reshape(t, prediction.shape());
}

// Doubles that may be NaN or infinite, in JSON (which has neither).
json number_json(double value) {
  if (std::isfinite(value)) return value;
  return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
}

double json_number(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string text = j.get<std::string>();
  if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "inf") return std::numeric_limits<double>::infinity();
  if (text == "-inf") return -std::numeric_limits<double>::infinity();
  throw Error("not a number: \"" + text + "\"");
}

// Restores the model's train/eval mode however the scope ends.
class ModeGuard {
 public:
  ModeGuard(Module& model, bool training) : model_(model), previous_(model.is_training()) { model.train(training); }
  ~ModeGuard() { model_.train(previous_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Module& model_;
  bool previous_;
};

}  // namespace

LossFunction make_loss(const std::string& name) {
  if (name == "mse")
    return [](const Tensor& p, const Tensor& t) { return mse_loss(p, align_target("mse", p, t)); };
  if (name == "mae")
    return [](const Tensor& p, const Tensor& t) { return l1_loss(p, align_target("mae", p, t)); };
  if (name == "huber")
    return [](const Tensor& p, const Tensor& t) { return huber_loss(p, align_target("huber", p, t)); };
  if (name == "binary_crossentropy")
    return [](const Tensor& p, const Tensor& t) {
      return binary_cross_entropy(p, align_target("binary_crossentropy", p, t));
    };
  if (name == "binary_crossentropy_with_logits")
    return [](const Tensor& p, const Tensor& t) {
      return binary_cross_entropy_with_logits(p, align_target("binary_crossentropy_with_logits", p, t));
    };
  if (name == "categorical_crossentropy")
    return [](const Tensor& p, const Tensor& t) {
      OURO_CHECK(t.defined() && t.shape() == p.shape(), "categorical_crossentropy: targets must be distributions of ",
                 "the logits' shape ", shape_str(p.shape()), ", got ",
                 t.defined() ? shape_str(t.shape()) : std::string("none"),
                 " (class ids need sparse_categorical_crossentropy)");
      return cross_entropy(p, t.dtype() == p.dtype() ? t : t.to(p.dtype()));
    };
  if (name == "sparse_categorical_crossentropy")
    return [](const Tensor& p, const Tensor& t) {
      OURO_CHECK(t.defined(), "sparse_categorical_crossentropy: the dataset has no targets");
      return cross_entropy(p, t.dtype() == DType::Int64 ? t : t.to(DType::Int64));
    };
  throw Error("loss: unknown name '" + name +
              "'; expected mse, mae, huber, binary_crossentropy, binary_crossentropy_with_logits, "
              "categorical_crossentropy or sparse_categorical_crossentropy (or pass a function)");
}

const std::vector<double>& History::operator[](const std::string& key) const {
  const auto it = values.find(key);
  if (it != values.end()) return it->second;
  std::string keys;
  for (const auto& [k, v] : values) keys += (keys.empty() ? "" : ", ") + k;
  throw Error("History: no key '" + key + "'; it has: " + keys);
}

// ---------------------------------------------------------------------------------------------

struct Trainer::Run {
  const FitOptions& options;
  std::unique_ptr<DataLoader> loader;
  std::optional<Dataset> validation;
  std::int64_t validation_batch_size = 0;
  std::vector<CallbackPtr> callbacks;  // the user's, then the progress bar
  std::vector<Tensor> trainable;
  std::vector<std::string> metric_names;
  Logs batch_logs, epoch_logs;  // reused: after the first step, filling them allocates nothing
};

Trainer::Trainer(ModulePtr model) : model_(std::move(model)) {
  OURO_CHECK(model_ != nullptr, "Trainer: the model is null");
}

Optimizer& Trainer::optimizer() const {
  OURO_CHECK(optimizer_ != nullptr, "Trainer: no optimizer; call compile() first");
  return *optimizer_;
}

void Trainer::compile(CompileOptions options) {
  if (options.optimizer.optimizer) {
    optimizer_ = std::move(options.optimizer.optimizer);
  } else {
    OURO_CHECK(options.optimizer.factory != nullptr, "Trainer::compile: no optimizer (pass one or a factory)");
    optimizer_ = options.optimizer.factory(model_->parameters(/*trainable_only=*/true));
    OURO_CHECK(optimizer_ != nullptr, "Trainer::compile: the optimizer factory returned null");
  }
  if (options.loss.function) {
    loss_ = std::move(options.loss.function);
  } else {
    OURO_CHECK(!options.loss.name.empty(), "Trainer::compile: no loss (pass a name or a function)");
    loss_ = make_loss(options.loss.name);
  }
  metrics_.clear();
  for (auto& spec : options.metrics) {
    OURO_CHECK(spec.metric != nullptr, "Trainer::compile: metric ", metrics_.size(), " is null");
    for (const auto& m : metrics_)
      OURO_CHECK(m->name() != spec.metric->name(), "Trainer::compile: metric '", m->name(), "' given twice");
    OURO_CHECK(spec.metric->name() != "loss" && spec.metric->name() != "lr", "Trainer::compile: a metric may not be ",
               "called '", spec.metric->name(), "'");
    metrics_.push_back(std::move(spec.metric));
  }
  model_dtype_ = DType::Float32;
  for (const Tensor& p : model_->parameters()) {
    model_dtype_ = p.dtype();
    break;
  }
  compiled_ = true;
}

Tensor Trainer::prepare_input(const Tensor& inputs) const {
  if (is_floating(inputs.dtype()) && inputs.dtype() != model_dtype_) return inputs.to(model_dtype_);
  return inputs;
}

Tensor Trainer::compute_loss(const Tensor& prediction, const Tensor& target) const {
  Tensor loss = loss_(prediction, target);
  OURO_CHECK(loss.defined() && loss.numel() == 1, "Trainer: the loss must be one number, got ",
             loss.defined() ? loss.describe() : std::string("an undefined tensor"));
  return loss;
}

void Trainer::stop_training(std::string reason) {
  if (!stop_requested_) stop_reason_ = std::move(reason);
  stop_requested_ = true;
}

void Trainer::skip_step() {
  OURO_CHECK(run_ != nullptr, "Trainer::skip_step: only inside fit (from on_before_optimizer_step)");
  if (!skip_requested_) ++skipped_steps_;
  skip_requested_ = true;
}

void Trainer::reset_epoch_accumulators() {
  epoch_loss_sum_ = epoch_samples_ = 0;
  for (const auto& m : metrics_) m->reset();
}

History Trainer::fit(const Dataset& train, FitOptions options) {
  OURO_CHECK(compiled_, "Trainer::fit: call compile() first");
  OURO_CHECK(run_ == nullptr, "Trainer::fit: already running (fit called from a callback?)");
  OURO_CHECK(options.epochs >= 0, "Trainer::fit: epochs must be >= 0, got ", options.epochs);
  OURO_CHECK(options.batch_size >= 1, "Trainer::fit: batch_size must be >= 1, got ", options.batch_size);
  OURO_CHECK(options.gradient_accumulation_steps >= 1, "Trainer::fit: gradient_accumulation_steps must be >= 1, got ",
             options.gradient_accumulation_steps);
  OURO_CHECK(options.validation_split >= 0 && options.validation_split < 1,
             "Trainer::fit: validation_split must be in [0, 1), got ", options.validation_split);
  OURO_CHECK(!options.clip_grad_norm || *options.clip_grad_norm > 0, "Trainer::fit: clip_grad_norm must be > 0, got ",
             options.clip_grad_norm.value_or(0));
  OURO_CHECK(options.max_steps >= 0, "Trainer::fit: max_steps must be >= 0, got ", options.max_steps);
  train.check("Trainer::fit");
  OURO_CHECK(train.targets.defined(), "Trainer::fit: the training data has no targets");

  Run run{options, nullptr, std::nullopt, 0, {}, {}, {}, {}, {}};
  Dataset train_part = train;
  if (options.validation_data) {
    options.validation_data->check("Trainer::fit: validation_data");
    run.validation = *options.validation_data;
  } else if (options.validation_split > 0) {
    // Keras's split point: the first int(N * (1 - split)) samples train.
    const std::int64_t n = train.size();
    const auto split_at = static_cast<std::int64_t>(static_cast<double>(n) * (1 - options.validation_split));
    OURO_CHECK(split_at >= 1 && split_at < n, "Trainer::fit: validation_split ", options.validation_split, " of ", n,
               " samples leaves ", split_at, " for training and ", n - split_at, " for validation");
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    if (options.validation_split_seed) {
      Generator gen(*options.validation_split_seed);
      order = random_permutation(n, gen);
    }
    train_part = train.subset(std::vector<std::int64_t>(order.begin(), order.begin() + split_at));
    run.validation = train.subset(std::vector<std::int64_t>(order.begin() + split_at, order.end()));
  }
  run.validation_batch_size = options.validation_batch_size > 0 ? options.validation_batch_size : options.batch_size;
  run.loader = std::make_unique<DataLoader>(
      train_part, DataLoaderOptions{options.batch_size, options.shuffle, options.drop_last, options.seed});
  OURO_CHECK(run.loader->num_batches() >= 1, "Trainer::fit: ", train_part.size(), " samples give no batch of ",
             options.batch_size, " (drop_last)");

  run.callbacks = options.callbacks;
  if (options.verbose != Verbosity::Silent)
    run.callbacks.push_back(
        std::make_shared<ProgressBar>(options.verbose, options.progress_stream ? options.progress_stream : stdout));
  for (const auto& cb : run.callbacks) OURO_CHECK(cb != nullptr, "Trainer::fit: a callback is null");
  callbacks_ = run.callbacks;
  run_shape_ = RunShape{train_part.size(), options.batch_size, options.gradient_accumulation_steps,
                        options.shuffle, options.drop_last, options.seed};
  run.trainable = model_->parameters(/*trainable_only=*/true);
  for (const auto& m : metrics_) run.metric_names.push_back(m->name());

  history_ = History{};
  position_ = DataLoader::State{};
  global_step_ = 0;
  epochs_ = options.epochs;
  const std::int64_t accumulation = options.gradient_accumulation_steps;
  accumulation_ = accumulation;
  steps_per_epoch_ = (run.loader->num_batches() + accumulation - 1) / accumulation;
  stop_requested_ = skip_requested_ = stopped_inside_step_ = false;
  skipped_steps_ = 0;
  stop_reason_.clear();
  scheduler_ = nullptr;
  generators_.clear();
  for (const auto& [name, gen] : options.generators) generators_[name] = gen;
  reset_epoch_accumulators();

  // Whatever happens, the callbacks and this trainer stop pointing at the run.
  struct Detach {
    Trainer& trainer;
    Run& run;
    ~Detach() {
      trainer.run_ = nullptr;
      for (const auto& cb : run.callbacks) cb->trainer_ = nullptr;
    }
  } detach{*this, run};
  run_ = &run;
  for (const auto& cb : run.callbacks) cb->trainer_ = this;

  ModeGuard mode(*model_, true);
  for (const auto& cb : run.callbacks) cb->on_train_begin();
  for (const auto& cb : run.callbacks)
    if (LrScheduler* s = cb->scheduler()) {
      OURO_CHECK(scheduler_ == nullptr, "Trainer::fit: more than one callback drives an lr scheduler");
      scheduler_ = s;
    }
  if (!options.resume_from.empty()) resume(run, options.resume_from);
  // A checkpoint already at (or past) max_steps trains no further step: the check after each
  // step would otherwise first come after one more.
  if (options.max_steps > 0 && global_step_ >= options.max_steps)
    stop_training("reached max_steps = " + std::to_string(options.max_steps));

  while (!stop_requested_ && position_.epoch < epochs_) run_epoch(run);

  for (const auto& cb : run.callbacks) cb->on_train_end(run.epoch_logs);
  history_.global_step = global_step_;
  history_.stop_reason = stop_reason_;
  return history_;
}

void Trainer::run_epoch(Run& run) {
  DataLoader& loader = *run.loader;
  const std::int64_t batches = loader.num_batches();
  const std::int64_t accumulation = run.options.gradient_accumulation_steps;
  const std::int64_t epoch = position_.epoch;
  if (position_.batch == 0) {
    reset_epoch_accumulators();
    last_lr_ = optimizer_->lr();
    for (const auto& cb : run.callbacks) cb->on_epoch_begin(epoch);
    if (stop_requested_) return;
  }
  model_->train(true);
  Logs& logs = run.batch_logs;
  while (position_.batch < batches && !stop_requested_) {
    const std::int64_t first = position_.batch;
    const std::int64_t group = std::min(accumulation, batches - first);
    const std::int64_t step = global_step_;
    for (const auto& cb : run.callbacks) cb->on_batch_begin(step);
    optimizer_->zero_grad();
    double step_loss = 0, step_samples = 0;
    for (std::int64_t j = 0; j < group; ++j) {
      const Batch batch = loader.batch(epoch, first + j);
      const Tensor inputs = prepare_input(batch.inputs);
      const Tensor targets = prepare_input(batch.targets);
      const Tensor prediction = model_->forward(inputs);
      const Tensor loss = compute_loss(prediction, targets);
      const double value = loss.item();
      if (group == 1) loss.backward();
      else mul(loss, 1.0 / static_cast<double>(group)).backward();
      const auto rows = static_cast<double>(inputs.size(0));
      step_loss += value * rows;
      step_samples += rows;
      if (!metrics_.empty()) {
        NoGradGuard no_grad;
        const Tensor detached = prediction.detach();
        for (const auto& m : metrics_) m->update(detached, targets);
      }
    }
    logs["loss"] = step_loss / step_samples;
    last_lr_ = optimizer_->lr();
    logs["lr"] = last_lr_;
    for (std::size_t i = 0; i < metrics_.size(); ++i) logs[run.metric_names[i]] = metrics_[i]->result();

    skip_requested_ = false;
    for (const auto& cb : run.callbacks) cb->on_before_optimizer_step(step, logs);
    // A stop here leaves the step out entirely: its values never reach the weights or the
    // epoch's running loss, so a checkpoint written at the end resumes with this same step.
    if (stop_requested_) {
      stopped_inside_step_ = true;
      return;
    }
    if (skip_requested_) {
      skip_requested_ = false;
      logs["skipped_steps"] = static_cast<double>(skipped_steps_);
    } else {
      epoch_loss_sum_ += step_loss;
      epoch_samples_ += step_samples;
      if (run.options.clip_grad_norm) clip_grad_norm(run.trainable, *run.options.clip_grad_norm);
      optimizer_->step();
    }
    if (skipped_steps_ > 0) logs["skipped_steps"] = static_cast<double>(skipped_steps_);
    ++global_step_;
    position_.batch = first + group;
    for (const auto& cb : run.callbacks) cb->on_batch_end(step, logs);
    if (run.options.max_steps > 0 && global_step_ >= run.options.max_steps)
      stop_training("reached max_steps = " + std::to_string(run.options.max_steps));
  }
  if (position_.batch == batches) finish_epoch(run);
}

void Trainer::finish_epoch(Run& run) {
  const std::int64_t epoch = position_.epoch;
  Logs& logs = run.epoch_logs;
  logs.clear();
  logs["loss"] = epoch_samples_ > 0 ? epoch_loss_sum_ / epoch_samples_ : std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < metrics_.size(); ++i) logs[run.metric_names[i]] = metrics_[i]->result();
  if (run.validation) {
    for (const auto& [key, value] : evaluate(*run.validation, run.validation_batch_size)) logs["val_" + key] = value;
  }
  logs["lr"] = last_lr_;
  if (skipped_steps_ > 0) logs["skipped_steps"] = static_cast<double>(skipped_steps_);
  history_.epochs.push_back(epoch);
  for (const auto& [key, value] : logs) history_.values[key].push_back(value);
  history_.global_step = global_step_;
  position_ = DataLoader::State{epoch + 1, 0};
  for (const auto& cb : run.callbacks) cb->on_epoch_end(epoch, logs);
}

std::map<std::string, double> Trainer::evaluate(const Dataset& data, std::int64_t batch_size) {
  OURO_CHECK(compiled_, "Trainer::evaluate: call compile() first");
  OURO_CHECK(batch_size >= 1, "Trainer::evaluate: batch_size must be >= 1, got ", batch_size);
  data.check("Trainer::evaluate");
  OURO_CHECK(data.targets.defined(), "Trainer::evaluate: the data has no targets");
  // The metrics' running state is put back afterwards, so a callback may evaluate mid-epoch.
  std::vector<std::vector<double>> saved;
  for (const auto& m : metrics_) {
    saved.push_back(m->state());
    m->reset();
  }
  ModeGuard mode(*model_, false);
  NoGradGuard no_grad;
  const DataLoader loader(data, DataLoaderOptions{batch_size, false, false, 0});
  double loss_sum = 0, samples = 0;
  for (std::int64_t i = 0; i < loader.num_batches(); ++i) {
    const Batch batch = loader.batch(0, i);
    const Tensor targets = prepare_input(batch.targets);
    const Tensor prediction = model_->forward(prepare_input(batch.inputs));
    const auto rows = static_cast<double>(batch.inputs.size(0));
    loss_sum += compute_loss(prediction, targets).item() * rows;
    samples += rows;
    for (const auto& m : metrics_) m->update(prediction, targets);
  }
  std::map<std::string, double> out;
  out["loss"] = loss_sum / samples;
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    out[metrics_[i]->name()] = metrics_[i]->result();
    metrics_[i]->load_state(saved[i]);
  }
  return out;
}

Tensor Trainer::predict(const Tensor& inputs, std::int64_t batch_size) {
  OURO_CHECK(inputs.defined() && inputs.dim() >= 1 && inputs.size(0) >= 1,
             "Trainer::predict: inputs must be a tensor [N, ...] with N >= 1, got ",
             inputs.defined() ? inputs.describe() : std::string("an undefined tensor"));
  OURO_CHECK(batch_size >= 1, "Trainer::predict: batch_size must be >= 1, got ", batch_size);
  ModeGuard mode(*model_, false);
  NoGradGuard no_grad;
  const std::int64_t n = inputs.size(0);
  std::vector<Tensor> outputs;
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const Tensor rows = narrow(inputs, 0, start, std::min(batch_size, n - start));
    outputs.push_back(model_->forward(prepare_input(rows)));
  }
  return outputs.size() == 1 ? outputs.front() : concat(outputs, 0);
}

// ---- checkpoints ----

std::string Trainer::trainer_state_json() const {
  json metrics = json::object();
  for (const auto& m : metrics_) {
    json values = json::array();
    for (double v : m->state()) values.push_back(number_json(v));
    metrics[m->name()] = values;
  }
  json history = json::object();
  history["epochs"] = history_.epochs;
  json values = json::object();
  for (const auto& [key, series] : history_.values) {
    json list = json::array();
    for (double v : series) list.push_back(number_json(v));
    values[key] = list;
  }
  history["values"] = values;
  json state;
  state["epoch_loss_sum"] = number_json(epoch_loss_sum_);
  state["epoch_samples"] = epoch_samples_;
  state["last_lr"] = number_json(last_lr_);
  state["skipped_steps"] = skipped_steps_;
  state["metrics"] = metrics;
  state["history"] = history;
  if (run_shape_.train_samples >= 0) {
    const RunShape& r = run_shape_;
    state["data"] = json{{"train_samples", r.train_samples},
                         {"batch_size", r.batch_size},
                         {"gradient_accumulation_steps", r.accumulation},
                         {"shuffle", r.shuffle},
                         {"seed", r.seed},
                         {"drop_last", r.drop_last}};
  }
  return state.dump();
}

void Trainer::save_checkpoint(const std::string& path) const {
  OURO_CHECK(compiled_, "Trainer::save_checkpoint: call compile() first");
  CheckpointParts parts;
  parts.optimizer = optimizer_.get();
  parts.scheduler = scheduler_;
  parts.progress = TrainingProgress{position_.epoch, global_step_, position_};
  for (const auto& [name, gen] : generators_) parts.generators[name] = gen;
  parts.extra = checkpoint_metadata_;
  parts.extra["trainer"] = trainer_state_json();
  ouro::save_checkpoint(path, *model_, parts);
}

void Trainer::resume(Run& run, const std::string& path) {
  const std::string who = "Trainer::fit: resume_from '" + path + "': ";
  // The run's shape is checked from the header before anything is restored.
  const SafetensorsHeader header = read_safetensors_header(path);
  const auto entry = header.metadata.find("trainer");
  OURO_CHECK(entry != header.metadata.end(), who, "no \"trainer\" metadata: not written by Trainer::save_checkpoint");
  json state;
  try {
    state = json::parse(entry->second);
    if (state.contains("data")) {
      const json& d = state.at("data");
      const FitOptions& o = run.options;
      auto same = [&](const char* key, const json& now) {
        OURO_CHECK(d.at(key) == now, who, "the checkpoint was written with ", key, " = ", d.at(key).dump(),
                   ", this run has ", now.dump());
      };
      same("train_samples", run.loader->dataset().size());
      same("batch_size", o.batch_size);
      same("gradient_accumulation_steps", o.gradient_accumulation_steps);
      same("shuffle", o.shuffle);
      same("seed", o.seed);
      same("drop_last", o.drop_last);
    }
    const json& metrics = state.at("metrics");
    for (const auto& m : metrics_)
      OURO_CHECK(metrics.contains(m->name()), who, "the checkpoint has no state for metric '", m->name(), "'");
  } catch (const json::exception& e) {
    throw Error(who + "malformed \"trainer\" metadata: " + e.what());
  }

  CheckpointTargets targets;
  targets.optimizer = optimizer_.get();
  targets.scheduler = scheduler_;
  targets.generators = run.options.generators;
  const CheckpointInfo info = load_checkpoint(path, *model_, targets);
  OURO_CHECK(info.progress.loader.batch >= 0 && info.progress.loader.batch <= run.loader->num_batches(), who,
             "loader position ", info.progress.loader.batch, " is past the ", run.loader->num_batches(),
             " batches of an epoch");
  position_ = info.progress.loader;
  global_step_ = info.progress.global_step;
  try {
    epoch_loss_sum_ = json_number(state.at("epoch_loss_sum"));
    epoch_samples_ = state.at("epoch_samples").get<double>();
    last_lr_ = json_number(state.at("last_lr"));
    skipped_steps_ = state.value("skipped_steps", std::int64_t{0});
    for (const auto& m : metrics_) {
      std::vector<double> values;
      for (const auto& v : state.at("metrics").at(m->name())) values.push_back(json_number(v));
      m->load_state(values);
    }
    const json& history = state.at("history");
    history_.epochs = history.at("epochs").get<std::vector<std::int64_t>>();
    for (const auto& [key, series] : history.at("values").items()) {
      auto& out = history_.values[key];
      for (const auto& v : series) out.push_back(json_number(v));
    }
    history_.global_step = global_step_;
  } catch (const json::exception& e) {
    throw Error(who + "malformed \"trainer\" metadata: " + e.what());
  }
}

}  // namespace ouro
