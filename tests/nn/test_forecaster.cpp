// Forecaster: scheduled-sampling schedules, the rollout's feeding (teacher forcing, free
// running, mixed) against hand-made loops, float64 gradient checks through fed-back
// predictions, the Trainer contract, raw-unit forecasts, and checkpoint round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "gradcheck.h"
#include "ouro/nn/forecaster.h"
#include "ouro/nn/recurrent.h"
#include "ouro/ouro.h"

namespace ouro {
namespace {

using testing::expect_error;
using testing::expect_gradients_match;
using testing::expect_values;

// A file name in the temp directory unique to this process, so parallel runs of the suite
// (ctest -j, several checkouts) never share or delete each other's files.
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ouro_" + std::to_string(::getpid()) + "_" + name)).string();
}

TEST(ScheduledSampling, SchedulesFollowTheirFormulas) {
  ScheduledSampling s;
  EXPECT_EQ(s.own_probability(0), 0);
  EXPECT_EQ(s.own_probability(100000), 0);
  s.schedule = SamplingSchedule::FreeRunning;
  EXPECT_EQ(s.own_probability(0), 1);

  s = ScheduledSampling{.schedule = SamplingSchedule::Linear, .decay_steps = 200, .min_teacher_probability = 0.1};
  EXPECT_DOUBLE_EQ(s.own_probability(0), 0.0);
  EXPECT_DOUBLE_EQ(s.own_probability(50), 0.25);
  EXPECT_DOUBLE_EQ(s.own_probability(100), 0.5);
  EXPECT_DOUBLE_EQ(s.own_probability(1000), 0.9);  // the teacher floor

  s = ScheduledSampling{.schedule = SamplingSchedule::Exponential, .exponential_base = 0.99};
  EXPECT_DOUBLE_EQ(s.own_probability(0), 0.0);
  EXPECT_NEAR(s.own_probability(100), 1 - std::pow(0.99, 100), 1e-15);

  s = ScheduledSampling{.schedule = SamplingSchedule::InverseSigmoid, .inverse_sigmoid_k = 50};
  for (std::int64_t i : {0, 10, 200, 400}) EXPECT_NEAR(s.own_probability(i), 1 - 50 / (50 + std::exp(i / 50.0)), 1e-14);
  EXPECT_EQ(s.own_probability(1000000), 1.0);  // no inf/inf

  // Every schedule rises (never falls) with the step.
  for (SamplingSchedule kind : {SamplingSchedule::Linear, SamplingSchedule::Exponential, SamplingSchedule::InverseSigmoid}) {
    ScheduledSampling r{.schedule = kind, .decay_steps = 300, .exponential_base = 0.995, .inverse_sigmoid_k = 30};
    double previous = -1;
    for (std::int64_t i = 0; i < 2000; i += 7) {
      EXPECT_GE(r.own_probability(i), previous);
      previous = r.own_probability(i);
    }
    EXPECT_GT(previous, 0.99);
    EXPECT_EQ(sampling_schedule_from_name(sampling_schedule_name(kind)), kind);
  }
}

TEST(ScheduledSampling, BadOptionsNameTheField) {
  expect_error([] { ScheduledSampling{.schedule = SamplingSchedule::Linear, .decay_steps = 0}.validate(); },
               {"decay_steps", "> 0"});
  expect_error([] { ScheduledSampling{.schedule = SamplingSchedule::Exponential, .exponential_base = 1}.validate(); },
               {"exponential_base", "(0, 1)"});
  expect_error([] { ScheduledSampling{.schedule = SamplingSchedule::InverseSigmoid, .inverse_sigmoid_k = 0.5}.validate(); },
               {"inverse_sigmoid_k", ">= 1"});
  expect_error([] { ScheduledSampling{.min_teacher_probability = 2}.validate(); }, {"min_teacher_probability"});
  expect_error([] { sampling_schedule_from_name("cosine"); }, {"'cosine'", "inverse_sigmoid"});
}

// An MLP step model over the flattened window.
std::shared_ptr<Forecaster> mlp_forecaster(std::int64_t window, std::int64_t features, std::int64_t rollout,
                                           DType dtype, ScheduledSampling sampling = {}) {
  Generator gen(21);
  auto step = std::make_shared<Sequential>(Sequential{
      std::make_shared<Flatten>(),
      std::make_shared<Linear>(LinearOptions{.in = window * features, .out = 5, .activation = ActivationKind::Tanh,
                                             .dtype = dtype, .generator = &gen}),
      std::make_shared<Linear>(LinearOptions{.in = 5, .out = features, .dtype = dtype, .generator = &gen})});
  return std::make_shared<Forecaster>(step, ForecasterOptions{.window = window, .features = features,
                                                              .rollout = rollout, .sampling = sampling,
                                                              .sampling_seed = 8});
}

TEST(Forecaster, TeacherForcingAndFreeRunningFeedWhatTheySay) {
  const std::int64_t W = 3, F = 2, R = 4;
  auto model = mlp_forecaster(W, F, R, DType::Float64);
  Generator gen(4);
  const Tensor series = rand({2, W + R, F}, -1, 1, DType::Float64, &gen);
  const Tensor context = narrow(series, 1, 0, W), future = narrow(series, 1, W, R);
  NoGradGuard no_grad;
  // Teacher forcing: step t sees the true values t .. t+W-1.
  const Tensor forced = model->rollout(context, R, future, 0.0);
  for (std::int64_t t = 0; t < R; ++t)
    expect_values(squeeze(narrow(forced, 1, t, 1), 1), model->step_model().forward(narrow(series, 1, t, W)).to_vector(),
                  1e-14);
  // Free running: the window takes in the model's own predictions.
  const Tensor free = model->rollout(context, R, Tensor(), 1.0);
  Tensor window = context;
  for (std::int64_t t = 0; t < R; ++t) {
    const Tensor y = model->step_model().forward(window);
    expect_values(squeeze(narrow(free, 1, t, 1), 1), y.to_vector(), 1e-14);
    window = concat({narrow(window, 1, 1, W - 1), unsqueeze(y, 1)}, 1);
  }
  // Mixed feeding lies between the two, sample by sample: each step's prediction equals the
  // forced or the free one only where all earlier choices agree, so just check it differs
  // from both for p = 0.5 on a long enough rollout and is reproducible from the seed.
  model->sampling_generator().seed_with(3);
  const Tensor mixed = model->rollout(context, R, future, 0.5);
  model->sampling_generator().seed_with(3);
  EXPECT_EQ(model->rollout(context, R, future, 0.5).to_vector(), mixed.to_vector());
  // The first prediction never depends on feeding.
  expect_values(squeeze(narrow(mixed, 1, 0, 1), 1), squeeze(narrow(free, 1, 0, 1), 1).to_vector(), 0);
}

TEST(Forecaster, GradcheckFreeRunningRollout) {
  auto model = mlp_forecaster(3, 2, 4, DType::Float64);
  std::vector<Tensor> leaves{testing::random_leaf({2, 3, 2}, 31)};
  for (const Tensor& p : model->parameters()) leaves.push_back(p);
  expect_gradients_match([&](const std::vector<Tensor>& in) { return model->rollout(in[0], 4, Tensor(), 1.0); },
                         leaves);
}

TEST(Forecaster, GradcheckScheduledSamplingRolloutWithFixedSeed) {
  auto model = mlp_forecaster(2, 1, 5, DType::Float64);
  std::vector<Tensor> leaves{testing::random_leaf({3, 2, 1}, 32), testing::random_leaf({3, 4, 1}, 33)};
  for (const Tensor& p : model->parameters()) leaves.push_back(p);
  expect_gradients_match(
      [&](const std::vector<Tensor>& in) {
        model->sampling_generator().seed_with(12);  // the same coins for every evaluation
        return model->rollout(in[0], 5, in[1], 0.5);
      },
      leaves);
}

// The same check with a recurrent step model (GRU, then LSTM, return_sequences = false): the
// gradient passes through every fed-back prediction and through each window's recurrence.
TEST(Forecaster, GradcheckFreeRunningRolloutThroughRecurrentStepModels) {
  for (const bool lstm : {false, true}) {
    SCOPED_TRACE(lstm ? "lstm" : "gru");
    Generator gen(41);
    const RecurrentOptions rnn{.input_size = 1, .hidden_size = 3, .batch_first = true, .return_sequences = false,
                               .dtype = DType::Float64, .generator = &gen};
    ModulePtr cell = lstm ? ModulePtr(std::make_shared<LSTM>(rnn)) : ModulePtr(std::make_shared<GRU>(rnn));
    auto step = std::make_shared<Sequential>(Sequential{
        cell, std::make_shared<Linear>(LinearOptions{.in = 3, .out = 1, .dtype = DType::Float64, .generator = &gen})});
    Forecaster model(step, ForecasterOptions{.window = 3, .features = 1, .rollout = 3});
    std::vector<Tensor> leaves{testing::random_leaf({2, 3, 1}, 34)};
    for (const Tensor& p : model.parameters()) leaves.push_back(p);
    expect_gradients_match([&](const std::vector<Tensor>& in) { return model.rollout(in[0], 3, Tensor(), 1.0); },
                           leaves);
  }
}

TEST(Forecaster, ForwardTrainsBySchedulesAndEvaluatesClosedLoop) {
  const std::int64_t W = 2, R = 3;
  auto model = mlp_forecaster(W, 1, R, DType::Float64,
                              ScheduledSampling{.schedule = SamplingSchedule::Linear, .decay_steps = 4});
  Generator gen(5);
  const Tensor x = rand({4, W + R, 1}, -1, 1, DType::Float64, &gen);
  NoGradGuard no_grad;
  model->eval();
  expect_values(model->forward(x), model->rollout(narrow(x, 1, 0, W), R, Tensor(), 1.0).to_vector(), 0);
  EXPECT_EQ(model->sampling_step(), 0);  // eval does not advance the schedule
  model->train();
  // Step 0 of the linear schedule: p = 0, teacher forcing.
  expect_values(model->forward(x), model->rollout(narrow(x, 1, 0, W), R, narrow(x, 1, W, R), 0.0).to_vector(), 0);
  EXPECT_EQ(model->sampling_step(), 1);
  model->set_sampling_step(10);  // past decay_steps: p = 1, free running
  expect_values(model->forward(x), model->rollout(narrow(x, 1, 0, W), R, Tensor(), 1.0).to_vector(), 0);
  EXPECT_EQ(model->sampling_step(), 11);
  EXPECT_EQ(model->state_dict().count("sampling_step"), 1u);
}

TEST(Forecaster, ShapeErrorsNameTheShapes) {
  auto model = mlp_forecaster(3, 1, 2, DType::Float32);
  expect_error([&] { model->forward(Tensor::zeros({2, 4, 1})); }, {"[batch, 5, 1]", "window 3", "rollout 2", "[2, 4, 1]"});
  expect_error([&] { model->forecast(Tensor::zeros({2, 1}), 3); }, {"T >= window 3", "[2, 1]"});
  expect_error([&] { model->rollout(Tensor::zeros({2, 3, 1}), 3, Tensor(), 0.5); }, {"truth", "none"});
  Generator gen(1);
  Forecaster wrong(std::make_shared<Flatten>(), ForecasterOptions{.window = 3, .features = 1});
  expect_error([&] { wrong.forecast(Tensor::zeros({5, 1}), 2); },
               {"step model (Flatten)", "[1, 3, 1]", "[1, 1]", "got [1, 3]"});
}

TEST(Forecaster, WindowsNormaliseAndForecastInRawUnits) {
  auto model = mlp_forecaster(2, 1, 2, DType::Float32);
  const Tensor series = Tensor::from_vector(std::vector<double>{10, 20, 30, 40, 50, 60}, {6, 1});
  model->fit_normalization(series);
  const double mean = 35, std = std::sqrt((25.0 * 25 + 15 * 15 + 5 * 5) * 2 / 6);  // population std
  const Dataset d = model->windows(series);
  ASSERT_EQ(d.inputs.shape(), (Shape{3, 4, 1}));
  ASSERT_EQ(d.targets.shape(), (Shape{3, 2, 1}));
  expect_values(narrow(d.inputs, 0, 1, 1), {(20 - mean) / std, (30 - mean) / std, (40 - mean) / std, (50 - mean) / std}, 1e-6);
  expect_values(narrow(d.targets, 0, 2, 1), {(50 - mean) / std, (60 - mean) / std}, 1e-6);
  // forecast = denormalise(closed-loop rollout of the normalised last window).
  const Tensor raw = model->forecast(series, 3);
  ASSERT_EQ(raw.shape(), (Shape{3, 1}));
  NoGradGuard no_grad;
  model->eval();
  const Tensor scaled = model->rollout(unsqueeze(model->normalize(narrow(series, 0, 4, 2)), 0), 3, Tensor(), 1.0);
  expect_values(raw, model->denormalize(squeeze(scaled, 0)).to_vector(), 1e-6);
}

// A sine wave: the MLP forecaster learns it under Trainer with a rising schedule,
// deterministically, and round-trips through a checkpoint.
TEST(Forecaster, TrainsWithTrainerAndRoundTripsThroughCheckpoint) {
  std::vector<double> wave;
  for (int t = 0; t < 120; ++t) wave.push_back(5 + 3 * std::sin(0.3 * t));
  const Tensor series = Tensor::from_vector(wave, {120, 1});
  auto run = [&](const std::string& checkpoint) {
    ForecasterSpec spec{.cell = "mlp", .window = 6, .hidden = 16, .rollout = 4,
                        .sampling = {.schedule = SamplingSchedule::InverseSigmoid, .inverse_sigmoid_k = 20},
                        .seed = 3};
    auto model = make_forecaster(spec);
    model->fit_normalization(series);
    Trainer trainer(model);
    trainer.compile({.optimizer = [](std::vector<Tensor> p) { return std::make_shared<Adam>(p, AdamOptions{.lr = 0.01}); },
                     .loss = "mse"});
    const History h = trainer.fit(model->windows(series),
                                  FitOptions{.epochs = 25, .batch_size = 16, .seed = 1, .verbose = Verbosity::Silent,
                                             .generators = {{"forecaster.sampling", &model->sampling_generator()}}});
    if (!checkpoint.empty()) trainer.save_checkpoint(checkpoint);
    return std::make_pair(model, h["loss"]);
  };
  const std::string path = temp_path("forecaster_test.safetensors");
  auto [model, losses] = run(path);
  EXPECT_LT(losses.back(), 0.05 * losses.front()) << losses.front() << " -> " << losses.back();
  EXPECT_GT(model->sampling_step(), 100);
  EXPECT_EQ(run("").second, losses);  // bit-identical
  const Tensor ahead = model->forecast(series, 10);
  for (int t = 0; t < 10; ++t) EXPECT_NEAR(ahead.at({t, 0}), 5 + 3 * std::sin(0.3 * (120 + t)), 0.5) << "step " << t;
  auto loaded = load_forecaster(path);
  EXPECT_EQ(loaded->forecast(series, 10).to_vector(), ahead.to_vector());
  EXPECT_EQ(loaded->sampling_step(), model->sampling_step());
  std::filesystem::remove(path);
}

TEST(Forecaster, RecurrentSpecsBuildAndReloadFromCheckpoints) {
  const Tensor series = Tensor::from_vector(std::vector<double>{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}, {12, 1});
  for (const char* cell : {"lstm", "gru"}) {
    SCOPED_TRACE(cell);
    auto model = make_forecaster(ForecasterSpec{.cell = cell, .window = 4, .hidden = 5, .layers = 2, .seed = 4});
    EXPECT_EQ(model->step_model().named_children().front().second->type_name(), cell == std::string("lstm") ? "LSTM" : "GRU");
    model->fit_normalization(series);
    const std::string path = temp_path("rnn_forecaster.safetensors");
    save_checkpoint(path, *model);
    auto loaded = load_forecaster(path);
    EXPECT_EQ(loaded->forecast(series, 6).to_vector(), model->forecast(series, 6).to_vector());
    std::filesystem::remove(path);
  }
}

// The sqrt transform: windows are standardised square roots, forecasts come back squared
// (never negative), and negative raw values are refused by name.
TEST(Forecaster, SqrtTransformStandardisesSquareRootsAndForecastsNonNegative) {
  auto model = make_forecaster(ForecasterSpec{.cell = "mlp", .window = 2, .hidden = 3, .rollout = 1, .transform = "sqrt"});
  const Tensor series = Tensor::from_vector(std::vector<double>{1, 4, 9, 16, 25}, {5, 1});
  model->fit_normalization(series);
  const double mean = 3, std = std::sqrt(2.0);  // of 1, 2, 3, 4, 5
  expect_values(model->normalize(series), {(1 - mean) / std, (2 - mean) / std, 0, (4 - mean) / std, (5 - mean) / std},
                1e-6);
  expect_values(model->denormalize(model->normalize(series)), {1, 4, 9, 16, 25}, 1e-4);
  // Below zero in sqrt units means zero, not its square.
  expect_values(model->denormalize(Tensor::from_vector(std::vector<double>{-3.0, (0.5 - mean) / std}, {2, 1})),
                {0, 0.25}, 1e-6);
  const Dataset d = model->windows(series);
  expect_values(narrow(d.targets, 0, 0, 1), {0}, 1e-6);  // sqrt(9) is the mean
  expect_error([&] { model->normalize(Tensor::from_vector(std::vector<double>{4, -1}, {2, 1})); },
               {"sqrt", ">= 0", "-1"});
  expect_error([] { make_forecaster(ForecasterSpec{.transform = "log"}); }, {"'log'", "none or sqrt"});
}

// linear_skip = "least_squares": fit_linear_skip sets the linear path to the least-squares
// AR(W) fit of the next value on the window, in normalised units.
TEST(Forecaster, LinearSkipFitsTheAutoregressionInNormalisedUnits) {
  std::vector<double> v{1.0, 0.5};
  for (int t = 2; t < 60; ++t) v.push_back(2.0 + 1.2 * v[t - 1] - 0.5 * v[t - 2] + std::sin(0.9 * t));
  const Tensor series = Tensor::from_vector(v, {60, 1});
  auto model = make_forecaster(ForecasterSpec{.cell = "gru", .window = 3, .hidden = 2, .seed = 2,
                                              .linear_skip = "least_squares"});
  auto& skip = dynamic_cast<LinearSkip&>(model->step_model());
  EXPECT_EQ(skip.inner().type_name(), "Sequential");
  model->fit_normalization(series);
  model->fit_linear_skip(series);
  // The fit is the least-squares solution: its residuals are orthogonal to every regressor.
  const Dataset one_step = sliding_windows(model->normalize(series), 3, 1);
  NoGradGuard no_grad;
  const std::vector<double> x = one_step.inputs.to_vector(), t = one_step.targets.to_vector(),
                            fit = skip.linear().forward(reshape(one_step.inputs, {one_step.inputs.size(0), 3})).to_vector();
  for (int j = -1; j < 3; ++j) {
    double dot = 0;
    for (std::size_t n = 0; n < t.size(); ++n) dot += (t[n] - fit[n]) * (j < 0 ? 1.0 : x[n * 3 + j]);
    EXPECT_NEAR(dot, 0, 1e-3) << "regressor " << j;
  }
  auto plain = make_forecaster(ForecasterSpec{.cell = "gru", .window = 3, .hidden = 2});
  expect_error([&] { plain->fit_linear_skip(series); }, {"no linear path", "linear_skip"});
  expect_error([] { make_forecaster(ForecasterSpec{.linear_skip = "yes"}); }, {"'yes'", "least_squares"});
}

TEST(Forecaster, HybridSqrtSpecReloadsFromCheckpoint) {
  const Tensor series = Tensor::from_vector(std::vector<double>{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}, {12, 1});
  auto model = make_forecaster(ForecasterSpec{.cell = "lstm", .window = 4, .hidden = 3, .seed = 4, .transform = "sqrt",
                                              .linear_skip = "least_squares"});
  model->fit_normalization(series);
  model->fit_linear_skip(series, 0.1);
  const std::string path = temp_path("hybrid_forecaster.safetensors");
  save_checkpoint(path, *model);
  auto loaded = load_forecaster(path);
  const Tensor ahead = model->forecast(series, 6);
  EXPECT_EQ(loaded->forecast(series, 6).to_vector(), ahead.to_vector());
  for (double f : ahead.to_vector()) EXPECT_GE(f, 0);
  std::filesystem::remove(path);
}

TEST(Forecaster, SpecJsonRoundTripAndErrors) {
  ForecasterSpec spec{.cell = "mlp", .window = 5, .features = 2, .hidden = 7, .layers = 2, .rollout = 3,
                      .sampling = {.schedule = SamplingSchedule::Exponential, .exponential_base = 0.9},
                      .seed = 9, .transform = "sqrt", .linear_skip = "random"};
  const ForecasterSpec back = ForecasterSpec::from_json(spec.to_json());
  EXPECT_EQ(back.to_json(), spec.to_json());
  expect_error([] { ForecasterSpec::from_json("{\"windows\": 3}"); }, {"unknown key 'windows'"});
  expect_error([] { ForecasterSpec::from_json("{\"sampling\": {\"k\": 3}}"); }, {"'sampling.k'"});
  expect_error([] { make_forecaster(ForecasterSpec{.cell = "transformer"}); }, {"'transformer'", "lstm", "gru", "mlp"});
  // A non-Forecaster checkpoint is refused by name.
  const std::string path = temp_path("not_forecaster.safetensors");
  save_checkpoint(path, Linear(2, 3));
  expect_error([&] { load_forecaster(path); }, {path, "not a Forecaster", "Linear"});
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ouro
