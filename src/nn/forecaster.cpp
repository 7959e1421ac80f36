#include "ouro/nn/forecaster.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/data/timeseries.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/linear_skip.h"
#include "ouro/nn/recurrent.h"
#include "ouro/nn/sequential.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/train/checkpoint.h"

namespace ouro {

using nlohmann::json;

// ---------------------------------------------------------------- scheduled sampling

const char* sampling_schedule_name(SamplingSchedule schedule) {
  switch (schedule) {
    case SamplingSchedule::TeacherForcing: return "teacher_forcing";
    case SamplingSchedule::FreeRunning: return "free_running";
    case SamplingSchedule::Linear: return "linear";
    case SamplingSchedule::Exponential: return "exponential";
    case SamplingSchedule::InverseSigmoid: return "inverse_sigmoid";
  }
  return "?";
}

SamplingSchedule sampling_schedule_from_name(const std::string& name) {
  for (SamplingSchedule s : {SamplingSchedule::TeacherForcing, SamplingSchedule::FreeRunning, SamplingSchedule::Linear,
                             SamplingSchedule::Exponential, SamplingSchedule::InverseSigmoid})
    if (name == sampling_schedule_name(s)) return s;
  throw Error("scheduled sampling: unknown schedule '" + name +
              "' (expected teacher_forcing, free_running, linear, exponential or inverse_sigmoid)");
}

void ScheduledSampling::validate() const {
  OURO_CHECK(min_teacher_probability >= 0 && min_teacher_probability <= 1,
             "scheduled sampling: min_teacher_probability must be in [0, 1], got ", min_teacher_probability);
  if (schedule == SamplingSchedule::Linear)
    OURO_CHECK(decay_steps > 0, "scheduled sampling (linear): decay_steps must be > 0, got ", decay_steps);
  if (schedule == SamplingSchedule::Exponential)
    OURO_CHECK(exponential_base > 0 && exponential_base < 1,
               "scheduled sampling (exponential): exponential_base must be in (0, 1), got ", exponential_base);
  if (schedule == SamplingSchedule::InverseSigmoid)
    OURO_CHECK(inverse_sigmoid_k >= 1, "scheduled sampling (inverse_sigmoid): inverse_sigmoid_k must be >= 1, got ",
               inverse_sigmoid_k);
}

double ScheduledSampling::own_probability(std::int64_t step) const {
  const double i = static_cast<double>(std::max<std::int64_t>(step, 0));
  double teacher = 1;
  switch (schedule) {
    case SamplingSchedule::TeacherForcing: return 0;
    case SamplingSchedule::FreeRunning: return 1;
    case SamplingSchedule::Linear: teacher = 1 - i / decay_steps; break;
    case SamplingSchedule::Exponential: teacher = std::pow(exponential_base, i); break;
    case SamplingSchedule::InverseSigmoid: {
      // k / (k + exp(i/k)) written as 1 / (1 + exp(i/k - log k)) so a large i gives 0, not inf/inf.
      const double z = i / inverse_sigmoid_k - std::log(inverse_sigmoid_k);
      teacher = z > 700 ? 0 : 1 / (1 + std::exp(z));
      break;
    }
  }
  return 1 - std::max(min_teacher_probability, teacher);
}

std::string ScheduledSampling::to_json() const {
  return json{{"schedule", sampling_schedule_name(schedule)},
              {"decay_steps", decay_steps},
              {"exponential_base", exponential_base},
              {"inverse_sigmoid_k", inverse_sigmoid_k},
              {"min_teacher_probability", min_teacher_probability}}
      .dump();
}

// ---------------------------------------------------------------- transforms

const char* series_transform_name(SeriesTransform transform) {
  switch (transform) {
    case SeriesTransform::None: return "none";
    case SeriesTransform::Sqrt: return "sqrt";
  }
  return "?";
}

SeriesTransform series_transform_from_name(const std::string& name) {
  for (SeriesTransform t : {SeriesTransform::None, SeriesTransform::Sqrt})
    if (name == series_transform_name(t)) return t;
  throw Error("Forecaster: unknown transform '" + name + "' (expected none or sqrt)");
}

namespace {

// g(x) in place; `what` names the caller in the error for a value sqrt cannot take.
void apply_transform(SeriesTransform transform, std::vector<double>& v, const char* what) {
  if (transform == SeriesTransform::None) return;
  for (std::size_t i = 0; i < v.size(); ++i) {
    OURO_CHECK(v[i] >= 0, what, ": transform sqrt needs values >= 0, got ", v[i], " at element ", i);
    v[i] = std::sqrt(v[i]);
  }
}

// g^-1 in place. sqrt's inverse clamps at 0: a forecast below zero in sqrt units means zero.
void invert_transform(SeriesTransform transform, std::vector<double>& v) {
  if (transform == SeriesTransform::None) return;
  for (double& x : v) x = x > 0 ? x * x : 0.0;
}

}  // namespace

// ---------------------------------------------------------------- Forecaster

Forecaster::Forecaster(ModulePtr step_model, const ForecasterOptions& options)
    : step_model_(std::move(step_model)), options_(options), sampling_generator_(options.sampling_seed) {
  OURO_CHECK(step_model_ != nullptr, "Forecaster: the step model is null");
  OURO_CHECK(options.window >= 1 && options.features >= 1 && options.rollout >= 1,
             "Forecaster: window, features and rollout must be >= 1, got window=", options.window,
             " features=", options.features, " rollout=", options.rollout);
  options.sampling.validate();
  add_child("step_model", step_model_);
  mean_ = register_buffer("series_mean", Tensor::zeros({options.features}, DType::Float64));
  std_ = register_buffer("series_std", Tensor::ones({options.features}, DType::Float64));
  sampling_step_ = register_buffer("sampling_step", Tensor::zeros({1}, DType::Int64));
}

std::int64_t Forecaster::sampling_step() const { return *sampling_step_.data<std::int64_t>(); }
void Forecaster::set_sampling_step(std::int64_t step) { *sampling_step_.data<std::int64_t>() = step; }

Tensor Forecaster::step(const Tensor& window) {
  const Tensor y = step_model_->forward(window);
  OURO_CHECK(y.dim() == 2 && y.size(0) == window.size(0) && y.size(1) == options_.features, "Forecaster: the step model (",
             step_model_->type_name(), ") must map a window ", shape_str(window.shape()), " to the next value [",
             window.size(0), ", ", options_.features, "], got ", shape_str(y.shape()));
  return y;
}

Tensor Forecaster::rollout(const Tensor& context, std::int64_t horizon, const Tensor& truth, double own_probability) {
  const std::int64_t W = options_.window, F = options_.features;
  OURO_CHECK(context.dim() == 3 && context.size(1) == W && context.size(2) == F, "Forecaster: expected a context [batch, ",
             W, ", ", F, "] (window, features), got ", shape_str(context.shape()));
  OURO_CHECK(horizon >= 1, "Forecaster: horizon must be >= 1, got ", horizon);
  OURO_CHECK(own_probability >= 0 && own_probability <= 1, "Forecaster: own_probability must be in [0, 1], got ",
             own_probability);
  const std::int64_t B = context.size(0);
  if (own_probability < 1) {
    OURO_CHECK(truth.defined() && truth.dim() == 3 && truth.size(0) == B && truth.size(1) >= horizon - 1 &&
                   truth.size(2) == F,
               "Forecaster: feeding true values needs truth [", B, ", >= ", horizon - 1, ", ", F, "], got ",
               truth.defined() ? shape_str(truth.shape()) : std::string("none"));
  }
  std::vector<Tensor> predictions;
  predictions.reserve(static_cast<std::size_t>(horizon));
  Tensor window = context;
  for (std::int64_t t = 0; t < horizon; ++t) {
    const Tensor y = step(window);
    predictions.push_back(y);
    if (t + 1 == horizon) break;
    Tensor next;
    if (own_probability >= 1) {
      next = y;  // closed loop: the gradient flows through the prediction into the next step
    } else {
      const Tensor true_next = squeeze(narrow(truth, 1, t, 1), 1);
      if (own_probability <= 0) {
        next = true_next;
      } else {
        // One coin per sample and step; next = truth + mask * (prediction - truth).
        const Tensor mask = bernoulli({B, 1}, own_probability, y.dtype(), &sampling_generator_);
        next = add(true_next, mul(mask, sub(y, true_next)));
      }
    }
    const Tensor incoming = unsqueeze(next, 1);
    window = W == 1 ? incoming : concat({narrow(window, 1, 1, W - 1), incoming}, 1);
  }
  return stack(predictions, 1);
}

Tensor Forecaster::forward(const Tensor& x) {
  const std::int64_t W = options_.window, R = options_.rollout, F = options_.features;
  OURO_CHECK(x.dim() == 3 && x.size(1) == W + R && x.size(2) == F, "Forecaster: expected input [batch, ", W + R, ", ",
             F, "] (window ", W, " + rollout ", R, " values of ", F, " features), got ", shape_str(x.shape()));
  const Tensor context = narrow(x, 1, 0, W), future = narrow(x, 1, W, R);
  double own = 1;  // eval: closed loop, never the truth
  if (is_training()) {
    own = options_.sampling.own_probability(sampling_step());
    set_sampling_step(sampling_step() + 1);
  }
  return rollout(context, R, future, own);
}

Tensor Forecaster::normalize(const Tensor& raw) const {
  OURO_CHECK(raw.dim() >= 1 && raw.shape().back() == options_.features, "Forecaster: expected values [..., ",
             options_.features, "], got ", shape_str(raw.shape()));
  std::vector<double> v = raw.to_vector();
  apply_transform(options_.transform, v, "Forecaster");
  const std::vector<double> m = mean_.to_vector(), s = std_.to_vector();
  const std::size_t F = m.size();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (v[i] - m[i % F]) / s[i % F];
  return Tensor::from_vector(v, raw.shape(), DType::Float32);
}

Tensor Forecaster::denormalize(const Tensor& scaled) const {
  OURO_CHECK(scaled.dim() >= 1 && scaled.shape().back() == options_.features, "Forecaster: expected values [..., ",
             options_.features, "], got ", shape_str(scaled.shape()));
  std::vector<double> v = scaled.to_vector();
  const std::vector<double> m = mean_.to_vector(), s = std_.to_vector();
  const std::size_t F = m.size();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = v[i] * s[i % F] + m[i % F];
  invert_transform(options_.transform, v);
  return Tensor::from_vector(v, scaled.shape(), DType::Float32);
}

void Forecaster::fit_normalization(const Tensor& series) {
  const std::int64_t F = options_.features;
  OURO_CHECK(series.dim() == 2 && series.size(1) == F && series.size(0) >= 1,
             "Forecaster::fit_normalization: expected a series [T, ", F, "], got ", shape_str(series.shape()));
  std::vector<double> v = series.to_vector();
  apply_transform(options_.transform, v, "Forecaster::fit_normalization");
  const std::int64_t T = series.size(0);
  std::vector<double> m(F, 0.0), s(F, 0.0);
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t f = 0; f < F; ++f) m[f] += v[t * F + f] / static_cast<double>(T);
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t f = 0; f < F; ++f) s[f] += (v[t * F + f] - m[f]) * (v[t * F + f] - m[f]) / static_cast<double>(T);
  for (double& x : s) x = x > 0 ? std::sqrt(x) : 1.0;
  mean_.copy_from_(Tensor::from_vector(m, {F}, DType::Float64));
  std_.copy_from_(Tensor::from_vector(s, {F}, DType::Float64));
}

void Forecaster::fit_linear_skip(const Tensor& series, double ridge) {
  auto* skip = dynamic_cast<LinearSkip*>(step_model_.get());
  OURO_CHECK(skip != nullptr, "Forecaster::fit_linear_skip: the step model (", step_model_->type_name(),
             ") has no linear path (build it with spec.linear_skip, or wrap it in a LinearSkip)");
  const std::int64_t W = options_.window, F = options_.features;
  OURO_CHECK(series.dim() == 2 && series.size(1) == F && series.size(0) > W, "Forecaster::fit_linear_skip: expected a ",
             "series [T, ", F, "] with T > window ", W, ", got ", shape_str(series.shape()));
  const Dataset one_step = sliding_windows(normalize(series), W, 1);
  skip->fit_least_squares(one_step.inputs, one_step.targets, ridge);
}

Dataset Forecaster::windows(const Tensor& series) const {
  const std::int64_t W = options_.window, R = options_.rollout, F = options_.features;
  OURO_CHECK(series.dim() == 2 && series.size(1) == F, "Forecaster::windows: expected a series [T, ", F, "], got ",
             shape_str(series.shape()));
  const std::int64_t T = series.size(0), N = T - W - R + 1;
  OURO_CHECK(N >= 1, "Forecaster::windows: a series of ", T, " values is shorter than window ", W, " + rollout ", R);
  const std::vector<double> v = normalize(series).to_vector();
  std::vector<double> inputs, targets;
  inputs.reserve(static_cast<std::size_t>(N * (W + R) * F));
  targets.reserve(static_cast<std::size_t>(N * R * F));
  for (std::int64_t n = 0; n < N; ++n) {
    inputs.insert(inputs.end(), v.begin() + n * F, v.begin() + (n + W + R) * F);
    targets.insert(targets.end(), v.begin() + (n + W) * F, v.begin() + (n + W + R) * F);
  }
  return Dataset{Tensor::from_vector(inputs, {N, W + R, F}), Tensor::from_vector(targets, {N, R, F})};
}

Tensor Forecaster::forecast(const Tensor& history, std::int64_t horizon) {
  const std::int64_t W = options_.window, F = options_.features;
  const bool batched = history.dim() == 3;
  OURO_CHECK((history.dim() == 2 || batched) && history.shape().back() == F && history.size(-2) >= W,
             "Forecaster::forecast: expected a history [T, ", F, "] or [batch, T, ", F, "] with T >= window ", W,
             ", got ", shape_str(history.shape()));
  const Tensor h = batched ? history : unsqueeze(history, 0);
  const Tensor context = normalize(contiguous(narrow(h, 1, h.size(1) - W, W)));
  const bool was_training = is_training();
  eval();
  Tensor out;
  try {
    NoGradGuard no_grad;
    out = denormalize(rollout(context, horizon, Tensor(), 1.0));
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
  return batched ? out : squeeze(out, 0);
}

std::string Forecaster::config_json() const {
  json j{{"window", options_.window},
         {"features", options_.features},
         {"rollout", options_.rollout},
         {"sampling", json::parse(options_.sampling.to_json())},
         {"sampling_seed", options_.sampling_seed},
         {"transform", series_transform_name(options_.transform)}};
  if (!spec_json_.empty()) j["spec"] = json::parse(spec_json_);
  return j.dump();
}

// ---------------------------------------------------------------- spec, factory, loading

std::string ForecasterSpec::to_json() const {
  return json{{"cell", cell},         {"window", window}, {"features", features},
              {"hidden", hidden},     {"layers", layers}, {"rollout", rollout},
              {"sampling", json::parse(sampling.to_json())}, {"seed", seed},
              {"transform", transform}, {"linear_skip", linear_skip}}
      .dump();
}

ForecasterSpec ForecasterSpec::from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  OURO_CHECK(j.is_object(), "ForecasterSpec: expected a JSON object, got '", text, "'");
  ForecasterSpec spec;
  const std::set<std::string> known{"cell", "window", "features", "hidden", "layers", "rollout", "sampling", "seed",
                                    "transform", "linear_skip"};
  for (const auto& [key, value] : j.items())
    OURO_CHECK(known.count(key), "ForecasterSpec: unknown key '", key, "'");
  try {
    if (j.contains("cell")) spec.cell = j.at("cell").get<std::string>();
    if (j.contains("window")) spec.window = j.at("window").get<std::int64_t>();
    if (j.contains("features")) spec.features = j.at("features").get<std::int64_t>();
    if (j.contains("hidden")) spec.hidden = j.at("hidden").get<std::int64_t>();
    if (j.contains("layers")) spec.layers = j.at("layers").get<std::int64_t>();
    if (j.contains("rollout")) spec.rollout = j.at("rollout").get<std::int64_t>();
    if (j.contains("seed")) spec.seed = j.at("seed").get<std::uint64_t>();
    if (j.contains("transform")) spec.transform = j.at("transform").get<std::string>();
    if (j.contains("linear_skip")) spec.linear_skip = j.at("linear_skip").get<std::string>();
    if (j.contains("sampling")) {
      const json& s = j.at("sampling");
      for (const auto& [key, value] : s.items())
        OURO_CHECK(key == "schedule" || key == "decay_steps" || key == "exponential_base" ||
                       key == "inverse_sigmoid_k" || key == "min_teacher_probability",
                   "ForecasterSpec: unknown key 'sampling.", key, "'");
      if (s.contains("schedule")) spec.sampling.schedule = sampling_schedule_from_name(s.at("schedule").get<std::string>());
      if (s.contains("decay_steps")) spec.sampling.decay_steps = s.at("decay_steps").get<double>();
      if (s.contains("exponential_base")) spec.sampling.exponential_base = s.at("exponential_base").get<double>();
      if (s.contains("inverse_sigmoid_k")) spec.sampling.inverse_sigmoid_k = s.at("inverse_sigmoid_k").get<double>();
      if (s.contains("min_teacher_probability"))
        spec.sampling.min_teacher_probability = s.at("min_teacher_probability").get<double>();
    }
  } catch (const json::exception& e) {
    throw Error(std::string("ForecasterSpec: ill-typed value: ") + e.what());
  }
  return spec;
}

std::shared_ptr<Forecaster> make_forecaster(const ForecasterSpec& spec) {
  OURO_CHECK(spec.window >= 1 && spec.features >= 1 && spec.hidden >= 1 && spec.layers >= 1 && spec.rollout >= 1,
             "make_forecaster: window, features, hidden, layers and rollout must be >= 1, got window=", spec.window,
             " features=", spec.features, " hidden=", spec.hidden, " layers=", spec.layers, " rollout=", spec.rollout);
  const SeriesTransform transform = series_transform_from_name(spec.transform);
  OURO_CHECK(spec.linear_skip == "none" || spec.linear_skip == "random" || spec.linear_skip == "least_squares",
             "make_forecaster: unknown linear_skip '", spec.linear_skip, "' (expected none, random or least_squares)");
  Generator gen(spec.seed);
  auto step_model = std::make_shared<Sequential>();
  if (spec.cell == "mlp") {
    step_model->add(std::make_shared<Flatten>());
    std::int64_t in = spec.window * spec.features;
    for (std::int64_t l = 0; l < spec.layers; ++l) {
      step_model->add(std::make_shared<Linear>(
          LinearOptions{.in = in, .out = spec.hidden, .activation = ActivationKind::Tanh, .generator = &gen}));
      in = spec.hidden;
    }
    step_model->add(std::make_shared<Linear>(LinearOptions{.in = in, .out = spec.features, .generator = &gen}));
  } else if (spec.cell == "lstm" || spec.cell == "gru") {
    const RecurrentOptions rnn{.input_size = spec.features, .hidden_size = spec.hidden, .num_layers = spec.layers,
                               .batch_first = true, .return_sequences = false, .generator = &gen};
    if (spec.cell == "lstm")
      step_model->add(std::make_shared<LSTM>(rnn));
    else
      step_model->add(std::make_shared<GRU>(rnn));
    step_model->add(std::make_shared<Linear>(LinearOptions{.in = spec.hidden, .out = spec.features, .generator = &gen}));
  } else {
    throw Error("make_forecaster: unknown cell '" + spec.cell + "' (expected lstm, gru or mlp)");
  }
  ModulePtr step = step_model;
  if (spec.linear_skip != "none")
    step = std::make_shared<LinearSkip>(
        step_model, LinearSkipOptions{.in = spec.window * spec.features, .out = spec.features, .generator = &gen});
  auto model = std::make_shared<Forecaster>(
      step, ForecasterOptions{.window = spec.window, .features = spec.features, .rollout = spec.rollout,
                              .sampling = spec.sampling, .sampling_seed = spec.seed, .transform = transform});
  model->spec_json_ = spec.to_json();
  return model;
}

std::shared_ptr<Forecaster> load_forecaster(const std::string& checkpoint_path) {
  const SafetensorsHeader header = read_safetensors_header(checkpoint_path);
  const auto it = header.metadata.find("model_config");
  OURO_CHECK(it != header.metadata.end(), "load_forecaster '", checkpoint_path,
             "': no model_config in the file's metadata (not an ouro checkpoint?)");
  const json tree = json::parse(it->second, nullptr, false);
  OURO_CHECK(tree.is_object() && tree.value("type", "") == "Forecaster", "load_forecaster '", checkpoint_path,
             "': the checkpoint's model is not a Forecaster (model_config type '",
             tree.is_object() ? tree.value("type", "?") : std::string("?"), "')");
  const json& config = tree.at("config");
  OURO_CHECK(config.is_object() && config.contains("spec"), "load_forecaster '", checkpoint_path,
             "': the Forecaster was not built by make_forecaster (its config has no spec to rebuild it from)");
  auto model = make_forecaster(ForecasterSpec::from_json(config.at("spec").dump()));
  load_checkpoint(checkpoint_path, *model, CheckpointTargets{.restore_default_generator = false});
  return model;
}

}  // namespace ouro
