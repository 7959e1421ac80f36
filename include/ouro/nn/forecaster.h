// Forecaster: closed-loop multi-step forecasting with any one-step model, and the three ways
// of training it over a rollout — teacher forcing, free running and scheduled sampling.
//
// The step model maps a window of the W latest values [B, W, F] to the next value [B, F]:
// e.g. Sequential{Flatten, Linear, ..., Linear(., F)} or Sequential{LSTM/GRU with
// return_sequences = false, Linear(H, F)}. A rollout of R steps from a context window runs it
// R times; after each step the window slides by one and takes in either the true next value
// (teacher forcing) or the model's own prediction (free running, closed loop). Gradients flow
// through fed-back predictions, so free running trains the model on its own errors
// (backpropagation through the whole rollout).
//
// Scheduled sampling (Bengio et al., 2015, "Scheduled Sampling for Sequence Prediction with
// Recurrent Neural Networks"): at each rollout step and for each sample, the model's own
// prediction is fed back with probability p(i) and the true value otherwise, where i counts
// training batches and p rises from ~0 towards 1 - min_teacher_probability. The schedules
// are written, as in the paper, for the teacher probability eps(i) = 1 - p(i):
//   Linear:         eps(i) = max(min_teacher_probability, 1 - i / decay_steps)
//   Exponential:    eps(i) = max(min_teacher_probability, exponential_base^i)   (0 < base < 1)
//   InverseSigmoid: eps(i) = max(min_teacher_probability, k / (k + exp(i / k)))   (k >= 1)
// TeacherForcing is eps = 1 throughout, FreeRunning eps = 0.
//
// Units. forward() / rollout() work on normalised values (g(x) - mean) / std, where g is the
// options' transform (identity, or sqrt: the variance-stabilising transform standard for
// counts such as sunspot numbers, whose swings grow with their level) and mean and std are
// the buffers "series_mean" / "series_std" [F] of g(x) (set by fit_normalization on the
// training series; 0 and 1 until then); windows() builds the training Dataset in those units
// and forecast() takes and returns raw values. The inverse of sqrt is max(z, 0)^2, so its
// forecasts are never negative. The buffers travel with the weights in state_dict and
// checkpoints, so a loaded model forecasts in the units it was trained on.
//
// Training with Trainer (the forward contract): inputs [B, W + R, F] are the context followed
// by the R true next values, targets [B, R, F] are those values again; forward returns the R
// predictions [B, R, F]. In training mode it feeds back by the schedule (counting one
// schedule step per training forward); in eval mode it always runs free (closed loop), so
// Trainer's validation loss is the honest R-step closed-loop error.
//
// ---- Library API for the forecasting task (what `ouro train/forecast` calls) ----
//   ForecasterSpec spec{.cell = "lstm", .window = 12, .hidden = 32, .rollout = 5, ...};
//   auto model = make_forecaster(spec);                  // or Forecaster(step_model, options)
//   Tensor series = read_series_csv("data.csv", "value"); // [T, 1] float32, raw units
//   model->fit_normalization(training_part);              // mean / std of the training values
//   Trainer trainer(model);
//   trainer.compile({.optimizer = ..., .loss = "mse"});
//   trainer.fit(model->windows(training_part), FitOptions{...,
//               .generators = {{"forecaster.sampling", &model->sampling_generator()}}});
//   trainer.save_checkpoint(path)                         // or save_checkpoint(path, *model)
//   auto loaded = load_forecaster(path);                  // rebuilt from the checkpoint's config
//   Tensor next = loaded->forecast(series, horizon);      // [horizon, F], raw units
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ouro/data/dataset.h"
#include "ouro/nn/module.h"
#include "ouro/tensor/random.h"

namespace ouro {

enum class SamplingSchedule { TeacherForcing, FreeRunning, Linear, Exponential, InverseSigmoid };
// "teacher_forcing", "free_running", "linear", "exponential", "inverse_sigmoid".
const char* sampling_schedule_name(SamplingSchedule schedule);
SamplingSchedule sampling_schedule_from_name(const std::string& name);

struct ScheduledSampling {
  SamplingSchedule schedule = SamplingSchedule::TeacherForcing;
  double decay_steps = 1000;         // Linear: batches until eps reaches its floor
  double exponential_base = 0.999;   // Exponential: eps = base^i
  double inverse_sigmoid_k = 100;    // InverseSigmoid: eps = k / (k + exp(i / k))
  double min_teacher_probability = 0;  // the floor of eps (Linear, Exponential, InverseSigmoid)

  // p(i): the probability of feeding back the model's own prediction at training batch i.
  double own_probability(std::int64_t step) const;
  // Throws ouro::Error naming the bad field and its allowed range.
  void validate() const;
  std::string to_json() const;
};

// The transform g applied to raw values before standardising (see Units above).
enum class SeriesTransform { None, Sqrt };
const char* series_transform_name(SeriesTransform transform);  // "none", "sqrt"
SeriesTransform series_transform_from_name(const std::string& name);

struct ForecasterOptions {
  std::int64_t window = 8;    // W: values the step model sees
  std::int64_t features = 1;  // F: values per time step
  std::int64_t rollout = 1;   // R: steps predicted per training sample (forward's output length)
  ScheduledSampling sampling{};
  std::uint64_t sampling_seed = 0x5eed;  // the coin flips of scheduled sampling (own Generator)
  SeriesTransform transform = SeriesTransform::None;
};

struct ForecasterSpec;

class Forecaster : public Module {
 public:
  Forecaster(ModulePtr step_model, const ForecasterOptions& options);
  std::string type_name() const override { return "Forecaster"; }
  std::string config_json() const override;
  using Module::forward;
  // x [B, W + R, F] (normalised): the R predictions [B, R, F], fed back by the schedule in
  // training mode and always (free running) in eval mode.
  Tensor forward(const Tensor& x) override;

  // The differentiable rollout: `horizon` predictions [B, horizon, F] from context [B, W, F].
  // After each step the model's own prediction is fed back with probability own_probability,
  // per sample, else the true value from truth [B, >= horizon - 1, F] (which may be undefined
  // when own_probability is 1). Normalised units.
  Tensor rollout(const Tensor& context, std::int64_t horizon, const Tensor& truth, double own_probability);

  // Closed-loop forecast in raw units, without a graph and in eval mode (the mode is
  // restored): history [T, F] -> [horizon, F], or [B, T, F] -> [B, horizon, F]; T >= W,
  // and the last W values are the context.
  Tensor forecast(const Tensor& history, std::int64_t horizon);

  // Sets series_mean / series_std from a raw series [T, F] (population std of the
  // transformed values; 0 becomes 1).
  void fit_normalization(const Tensor& series);
  // When the step model is a LinearSkip (spec.linear_skip): sets its linear path to the
  // least-squares AR(W) fit of each next value on the W before it, over a raw series [T, F]
  // in normalised units (ridge as LinearSkip::fit_least_squares). Call after
  // fit_normalization. The hybrid then starts as the linear autoregression plus the
  // recurrent path's (small) initial output.
  void fit_linear_skip(const Tensor& series, double ridge = 0);
  Tensor normalize(const Tensor& raw) const;     // float32, same shape ([..., F])
  Tensor denormalize(const Tensor& scaled) const;
  // Every window of W + R consecutive values of a raw series [T, F], normalised: inputs
  // [N, W + R, F] and targets [N, R, F] (the last R values of each), N = T - W - R + 1.
  Dataset windows(const Tensor& series) const;

  const ForecasterOptions& options() const { return options_; }
  Module& step_model() const { return *step_model_; }
  // Training batches seen so far (the schedule's i); saved with the weights as a buffer.
  std::int64_t sampling_step() const;
  void set_sampling_step(std::int64_t step);
  Generator& sampling_generator() { return sampling_generator_; }

 private:
  Tensor step(const Tensor& window);

  ModulePtr step_model_;
  ForecasterOptions options_;
  Generator sampling_generator_;
  Tensor mean_, std_, sampling_step_;
  std::string spec_json_;  // set by make_forecaster
  friend std::shared_ptr<Forecaster> make_forecaster(const ForecasterSpec& spec);
};

// ---- building, saving and loading a forecaster from plain options (CLI, configs) ----
struct ForecasterSpec {
  std::string cell = "lstm";  // "lstm", "gru" (recurrent step model) or "mlp" (over the flattened window)
  std::int64_t window = 12;
  std::int64_t features = 1;
  std::int64_t hidden = 32;   // LSTM/GRU hidden size, or the MLP's hidden width
  std::int64_t layers = 1;    // stacked recurrent layers, or hidden MLP layers (tanh)
  std::int64_t rollout = 1;
  ScheduledSampling sampling{};
  std::uint64_t seed = 1;     // initial weights and the sampling coin flips
  std::string transform = "none";  // "none" or "sqrt" (see SeriesTransform)
  // Adds a linear path from the flattened window to the step model's output (LinearSkip):
  // "none", "random" (initialised like a Linear) or "least_squares" (the caller sets it with
  // fit_linear_skip before training; until then it is initialised like a Linear).
  std::string linear_skip = "none";
  std::string to_json() const;
  // The inverse of to_json; unknown or ill-typed keys are errors naming them.
  static ForecasterSpec from_json(const std::string& json);
};

// The step model for a spec: Sequential{LSTM/GRU(return_sequences = false), Linear(H, F)} or
// Sequential{Flatten, Linear(W*F, H, tanh) x layers, Linear(H, F)} (inside a LinearSkip when
// spec.linear_skip is not "none"), wrapped in a Forecaster
// whose config_json records the spec (so load_forecaster can rebuild it).
std::shared_ptr<Forecaster> make_forecaster(const ForecasterSpec& spec);
// Rebuilds the model from a checkpoint written by save_checkpoint / Trainer (its
// "model_config" must be a Forecaster made by make_forecaster) and loads its weights and
// normalisation. Errors name the file and what is missing.
std::shared_ptr<Forecaster> load_forecaster(const std::string& checkpoint_path);

}  // namespace ouro
