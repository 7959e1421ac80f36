// Feedback: the closed loop against PyTorch's unrolled loop (fixture), float64 gradient checks
// with and without training noise, the noise's contract (training only, seeded, sigma), shape
// errors, config, and training through Sequential + Trainer.
#include <gtest/gtest.h>

#include <cmath>

#include "fixture.h"
#include "gradcheck.h"
#include "ouro/nn/feedback.h"
#include "ouro/ouro.h"

namespace ouro {
namespace {

using testing::expect_error;
using testing::expect_gradients_match;
using testing::expect_values;
using testing::fixture_tensor;
using testing::load_fixture;

// f = Linear(in, hidden) -> tanh -> Linear(hidden, out): names "0.*" and "2.*" as in the
// fixture's torch.nn.Sequential.
ModulePtr small_mlp(std::int64_t in, std::int64_t hidden, std::int64_t out, DType dtype, Generator& gen) {
  return std::make_shared<Sequential>(Sequential{
      std::make_shared<Linear>(LinearOptions{.in = in, .out = hidden, .dtype = dtype, .generator = &gen}),
      std::make_shared<Activation>(ActivationKind::Tanh),
      std::make_shared<Linear>(LinearOptions{.in = hidden, .out = out, .dtype = dtype, .generator = &gen})});
}

std::shared_ptr<Feedback> make_feedback(FeedbackMode mode, std::int64_t steps, std::int64_t features,
                                        std::int64_t hidden, std::int64_t out, double noise, bool sequence,
                                        DType dtype = DType::Float64, std::uint64_t seed = 3) {
  Generator gen(seed);
  FeedbackOptions options{.steps = steps, .mode = mode, .noise_stddev = noise, .noise_seed = 11,
                          .return_sequence = sequence, .dtype = dtype, .generator = &gen};
  if (mode == FeedbackMode::Projected) {
    options.input_features = features;
    options.output_features = out;
  }
  return std::make_shared<Feedback>(small_mlp(features, hidden, out, dtype, gen), options);
}

TEST(Feedback, MatchesPyTorchUnrolledLoop) {
  const auto fixture = load_fixture("feedback_fixtures.json");
  for (const auto& c : fixture.at("cases")) {
    const std::string mode_name = c.at("mode");
    SCOPED_TRACE(mode_name);
    auto fb = make_feedback(feedback_mode_from_name(mode_name), c.at("steps"), c.at("features"), c.at("hidden"),
                            c.at("out_features"), 0.0, /*sequence=*/true);
    StateDict state;
    for (const auto& [name, value] : c.at("params").items()) state[name] = fixture_tensor(value);
    fb->load_state_dict(state);
    Tensor x = fixture_tensor(c.at("input")).set_requires_grad();
    const Tensor iterates = fb->forward(x);
    expect_values(iterates, fixture_tensor(c.at("iterates")).to_vector(), 1e-12);
    iterates.backward(fixture_tensor(c.at("grad_output")));
    expect_values(x.grad(), fixture_tensor(c.at("grad_input")).to_vector(), 1e-10);
    for (const auto& [name, p] : fb->named_parameters()) {
      SCOPED_TRACE(name);
      expect_values(p.grad(), fixture_tensor(c.at("grads").at(name)).to_vector(), 1e-10);
    }
    // Without return_sequence: the last iterate alone.
    FeedbackOptions last = fb->options();
    last.return_sequence = false;
    Feedback only_last(fb->inner_ptr(), last);
    if (fb->projection()) only_last.projection()->load_state_dict(fb->projection()->state_dict());
    NoGradGuard no_grad;
    const Tensor y = only_last.forward(x);
    const std::int64_t k = c.at("steps");
    expect_values(y, squeeze(narrow(iterates, 0, k - 1, 1), 0).to_vector(), 1e-15);
  }
}

// The loop's gradient with respect to the input and to every parameter (f's and P's).
void check_loop_gradients(Feedback& fb, const Tensor& x, bool reseed_noise) {
  std::vector<Tensor> leaves{x};
  for (const Tensor& p : fb.parameters()) leaves.push_back(p);
  expect_gradients_match(
      [&](const std::vector<Tensor>& in) {
        // The same noise for every evaluation: finite differences compare like with like.
        if (reseed_noise) fb.noise_generator().seed_with(99);
        return fb.forward(in[0]);
      },
      leaves);
}

TEST(Feedback, GradcheckReplaceNoiseOff) {
  auto fb = make_feedback(FeedbackMode::Replace, 3, 3, 4, 3, 0.0, true);
  check_loop_gradients(*fb, testing::random_leaf({2, 3}, 5), false);
}

TEST(Feedback, GradcheckProjectedNoiseOff) {
  auto fb = make_feedback(FeedbackMode::Projected, 3, 3, 4, 2, 0.0, true);
  check_loop_gradients(*fb, testing::random_leaf({2, 3}, 6), false);
}

TEST(Feedback, GradcheckReplaceNoiseOnFixedSeed) {
  auto fb = make_feedback(FeedbackMode::Replace, 3, 3, 4, 3, 0.3, false);
  fb->train();
  check_loop_gradients(*fb, testing::random_leaf({2, 3}, 7), true);
}

TEST(Feedback, GradcheckProjectedNoiseOnFixedSeed) {
  auto fb = make_feedback(FeedbackMode::Projected, 4, 3, 4, 2, 0.3, true);
  fb->train();
  check_loop_gradients(*fb, testing::random_leaf({2, 3}, 8), true);
}

TEST(Feedback, NoiseOnlyInTrainingSeededWithChosenSigma) {
  // With f the identity and K = 2 in replace mode, y(1) = x + noise(0): the noise itself.
  const double sigma = 0.25;
  auto make = [&] {
    return std::make_shared<Feedback>(std::make_shared<Activation>(ActivationKind::None),
                                      FeedbackOptions{.steps = 2, .noise_stddev = sigma, .noise_seed = 42});
  };
  auto fb = make();
  const Tensor x = rand({200, 50}, -1, 1);
  fb->train();
  const std::vector<double> noisy = fb->forward(x).to_vector(), clean = x.to_vector();
  double sum = 0, sum_sq = 0;
  for (std::size_t i = 0; i < noisy.size(); ++i) {
    const double d = noisy[i] - clean[i];
    sum += d;
    sum_sq += d * d;
  }
  const double n = static_cast<double>(noisy.size());
  const double mean = sum / n, stddev = std::sqrt(sum_sq / n - mean * mean);
  // 10000 draws: the sample std is within ~1% of sigma, the mean within ~3 sigma/100.
  EXPECT_NEAR(stddev, sigma, 0.03 * sigma);
  EXPECT_NEAR(mean, 0.0, 0.01);
  // Same seed, same noise; a second pass draws new noise.
  auto again = make();
  again->train();
  EXPECT_EQ(again->forward(x).to_vector(), noisy);
  EXPECT_NE(again->forward(x).to_vector(), noisy);
  // Eval: no noise, and the generator is left alone.
  fb->eval();
  const Generator::State before = fb->noise_generator().state();
  EXPECT_EQ(fb->forward(x).to_vector(), clean);
  EXPECT_EQ(fb->noise_generator().state().s[0], before.s[0]);
}

TEST(Feedback, ReplaceModeNeedsAShapePreservingModule) {
  Generator gen(1);
  Feedback fb(std::make_shared<Linear>(LinearOptions{.in = 3, .out = 2, .generator = &gen}), FeedbackOptions{.steps = 2});
  expect_error([&] { fb.forward(Tensor::zeros({4, 3})); },
               {"Feedback(replace)", "Linear", "[4, 3]", "[4, 2]", "map its input's shape to itself", "projected"});
  // K = 1 never feeds back, so any f is allowed.
  Feedback once(fb.inner_ptr(), FeedbackOptions{.steps = 1});
  EXPECT_EQ(once.forward(Tensor::zeros({4, 3})).shape(), (Shape{4, 2}));
}

TEST(Feedback, OptionErrors) {
  auto id = std::make_shared<Activation>(ActivationKind::None);
  expect_error([&] { Feedback(id, FeedbackOptions{.steps = 0}); }, {"steps", "at least 1", "0"});
  expect_error([&] { Feedback(id, FeedbackOptions{.noise_stddev = -1}); }, {"noise_stddev", "-1"});
  expect_error([&] { Feedback(nullptr, FeedbackOptions{}); }, {"null"});
  expect_error([&] { Feedback(id, FeedbackOptions{.mode = FeedbackMode::Projected}); },
               {"input_features", "output_features"});
  expect_error([&] { feedback_mode_from_name("loop"); }, {"'loop'", "replace", "projected"});
  Feedback projected(id, FeedbackOptions{.mode = FeedbackMode::Projected, .input_features = 3, .output_features = 3});
  expect_error([&] { projected.forward(Tensor::zeros({2, 4})); }, {"last dimension 3", "[2, 4]"});
}

TEST(Feedback, ConfigAndParameterNames) {
  auto fb = make_feedback(FeedbackMode::Projected, 4, 3, 5, 2, 0.1, true, DType::Float32);
  EXPECT_EQ(fb->config_json(),
            "{\"steps\": 4, \"mode\": \"projected\", \"noise_stddev\": 0.10000000000000001, \"noise_seed\": 11, "
            "\"return_sequence\": true, \"input_features\": 3, \"output_features\": 2, \"projection_bias\": true}");
  std::vector<std::string> names;
  for (const auto& [name, p] : fb->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"f.0.weight", "f.0.bias", "f.2.weight", "f.2.bias", "projection.weight",
                                             "projection.bias"}));
  // K only changes how often f runs, never the parameter count.
  EXPECT_EQ(fb->parameter_count(), make_feedback(FeedbackMode::Projected, 1, 3, 5, 2, 0.1, true)->parameter_count());
  EXPECT_NE(model_config_json(*fb).find("\"Feedback\""), std::string::npos);
}

// Regression of y = sin(x0) * cos(x1) through Sequential{Feedback, Linear} with Trainer: the
// loop trains end to end, with noise, deterministically.
std::vector<double> fit_losses(std::uint64_t seed) {
  manual_seed(seed);
  Generator gen(seed);
  auto fb = std::make_shared<Feedback>(
      std::make_shared<Linear>(LinearOptions{.in = 8, .out = 8, .activation = ActivationKind::Tanh, .generator = &gen}),
      FeedbackOptions{.steps = 3, .mode = FeedbackMode::Replace, .noise_stddev = 0.05, .noise_seed = seed});
  auto model = std::make_shared<Sequential>(Sequential{
      std::make_shared<Linear>(LinearOptions{.in = 2, .out = 8, .generator = &gen}), fb,
      std::make_shared<Linear>(LinearOptions{.in = 8, .out = 1, .generator = &gen})});
  const Tensor x = rand({256, 2}, -2, 2, DType::Float32, &gen);
  std::vector<float> y;
  for (std::int64_t i = 0; i < 256; ++i) y.push_back(std::sin(x.at({i, 0})) * std::cos(x.at({i, 1})));
  Trainer trainer(model);
  trainer.compile({.optimizer = [](std::vector<Tensor> p) { return std::make_shared<Adam>(p, AdamOptions{.lr = 0.02}); },
                   .loss = "mse"});
  const History h = trainer.fit(Dataset{x, Tensor::from_vector(y, {256, 1})},
                                FitOptions{.epochs = 30, .batch_size = 32, .seed = seed, .verbose = Verbosity::Silent,
                                           .generators = {{"feedback_noise", &fb->noise_generator()}}});
  return h["loss"];
}

TEST(Feedback, TrainsInsideSequentialWithTrainer) {
  const std::vector<double> losses = fit_losses(5);
  EXPECT_LT(losses.back(), 0.2 * losses.front()) << losses.front() << " -> " << losses.back();
  EXPECT_EQ(fit_losses(5), losses);  // bit-identical, noise included
}

}  // namespace
}  // namespace ouro
