#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gradcheck.h"
#include "train/train_helpers.h"

namespace ouro {
namespace {

using testing::classification_data;
using testing::mlp;
using testing::regression_data;

TEST(Trainer, FitLearnsASyntheticClassificationProblem) {
  const Dataset data = classification_data(240);
  Trainer trainer(mlp(4, 16, 3, 1));
  trainer.compile({.optimizer = [](std::vector<Tensor> params) {
                     return std::make_shared<Adam>(std::move(params), AdamOptions{.lr = 0.02});
                   },
                   .loss = "sparse_categorical_crossentropy",
                   .metrics = {"accuracy"}});
  const History history =
      trainer.fit(data, {.epochs = 15, .batch_size = 16, .seed = 3, .verbose = Verbosity::Silent});
  const auto& loss = history["loss"];
  ASSERT_EQ(loss.size(), 15u);
  EXPECT_LT(loss.back(), 0.3 * loss.front());
  EXPECT_GT(history["accuracy"].back(), 0.9);
  const auto metrics = trainer.evaluate(data, 64);
  EXPECT_GT(metrics.at("accuracy"), 0.9);
}

TEST(Trainer, HistoryHoldsPerEpochTrainValidationAndLr) {
  const Dataset data = regression_data(40);
  const Dataset val = regression_data(12, 99);
  Trainer trainer(mlp(4, 8, 1, 2));
  trainer.compile({.optimizer = std::make_shared<SGD>(trainer.model().parameters(), SGDOptions{.lr = 0.05}),
                   .loss = "mse",
                   .metrics = {"mae", "r2"}});
  const History h = trainer.fit(
      data, {.epochs = 3, .batch_size = 8, .validation_data = val, .verbose = Verbosity::Silent});
  EXPECT_EQ(h.epochs, (std::vector<std::int64_t>{0, 1, 2}));
  for (const char* key : {"loss", "mae", "r2", "val_loss", "val_mae", "val_r2", "lr"})
    EXPECT_EQ(h[key].size(), 3u) << key;
  EXPECT_EQ(h["lr"], (std::vector<double>{0.05, 0.05, 0.05}));
  EXPECT_EQ(h.global_step, 15);
  EXPECT_TRUE(h.stop_reason.empty());
  // The last epoch's validation values are those of the final weights (same batches, so the
  // same bits: a GEMM over another row count may round differently).
  const auto final = trainer.evaluate(val, 8);
  EXPECT_DOUBLE_EQ(h["val_loss"].back(), final.at("loss"));
  EXPECT_DOUBLE_EQ(h["val_mae"].back(), final.at("mae"));
  testing::expect_error([&] { (void)h["accuracy"]; }, {"accuracy", "loss", "val_loss"});
}

TEST(Trainer, EpochLossIsTheSampleWeightedMeanOfStepLosses) {
  const Dataset data = regression_data(20);  // batches of 8, 8 and 4
  Trainer trainer(mlp(4, 8, 1, 2));
  trainer.compile({.optimizer = std::make_shared<SGD>(trainer.model().parameters(), SGDOptions{.lr = 0.01}),
                   .loss = "mse"});
  auto recorder = std::make_shared<testing::LossRecorder>();
  const History h = trainer.fit(
      data, {.epochs = 1, .batch_size = 8, .callbacks = {recorder}, .verbose = Verbosity::Silent});
  ASSERT_EQ(recorder->losses.size(), 3u);
  const auto& l = recorder->losses;
  EXPECT_NEAR(h["loss"][0], (8 * l[0] + 8 * l[1] + 4 * l[2]) / 20, 1e-12);
}

TEST(Trainer, ValidationSplitTakesTheLastSamplesAsKeras) {
  const Dataset data = regression_data(50);
  Trainer trainer(mlp(4, 8, 1, 2));
  trainer.compile({.optimizer = std::make_shared<SGD>(trainer.model().parameters(), SGDOptions{.lr = 0.05}),
                   .loss = "mse"});
  const History h =
      trainer.fit(data, {.epochs = 2, .batch_size = 8, .validation_split = 0.2, .verbose = Verbosity::Silent});
  std::vector<std::int64_t> last10;
  for (std::int64_t i = 40; i < 50; ++i) last10.push_back(i);
  EXPECT_DOUBLE_EQ(h["val_loss"].back(), trainer.evaluate(data.subset(last10), 8).at("loss"));
  EXPECT_EQ(h.global_step, 2 * 5);  // 40 training samples in batches of 8

  // Seeded: another subset, still 10 samples, reproducible.
  Trainer seeded(mlp(4, 8, 1, 2));
  seeded.compile({.optimizer = std::make_shared<SGD>(seeded.model().parameters(), SGDOptions{.lr = 0.05}),
                  .loss = "mse"});
  const History hs = seeded.fit(data, {.epochs = 1, .batch_size = 8, .validation_split = 0.2,
                                       .validation_split_seed = 5, .verbose = Verbosity::Silent});
  EXPECT_EQ(hs.global_step, 5);
  EXPECT_NE(hs["val_loss"][0], h["val_loss"][0]);
}

// Gradient accumulation of 2 steps x batch B against one step of batch 2B, in float64: the
// gradients agree up to summation order (the mean of two means of 4 vs one mean of 8), so
// weights agree to ~1e-15 relative after two SGD steps.
TEST(Trainer, GradientAccumulationMatchesALargerBatch) {
  const Dataset data = regression_data(16);
  auto run = [&](std::int64_t batch, std::int64_t accumulation, std::vector<double>* losses) {
    auto model = mlp(4, 6, 1, 3, DType::Float64);
    Trainer trainer(model);
    trainer.compile({.optimizer = std::make_shared<SGD>(model->parameters(), SGDOptions{.lr = 0.1}),
                     .loss = "mse"});
    auto recorder = std::make_shared<testing::LossRecorder>();
    const History h = trainer.fit(data, {.epochs = 1, .batch_size = batch, .shuffle = false,
                                         .callbacks = {recorder}, .gradient_accumulation_steps = accumulation,
                                         .verbose = Verbosity::Silent});
    EXPECT_EQ(h.global_step, 2);
    *losses = recorder->losses;
    std::vector<double> w;
    for (const Tensor& p : model->parameters()) {
      const auto v = p.to_vector();
      w.insert(w.end(), v.begin(), v.end());
    }
    return w;
  };
  std::vector<double> losses_a, losses_b;
  const std::vector<double> accumulated = run(4, 2, &losses_a);
  const std::vector<double> large = run(8, 1, &losses_b);
  ASSERT_EQ(accumulated.size(), large.size());
  for (std::size_t i = 0; i < large.size(); ++i) EXPECT_NEAR(accumulated[i], large[i], 1e-13) << i;
  ASSERT_EQ(losses_a.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(losses_a[i], losses_b[i], 1e-13);
}

TEST(Trainer, ClipGradNormBoundsTheUpdate) {
  const Dataset data = regression_data(8);
  auto model = mlp(4, 6, 1, 3, DType::Float64);
  const std::vector<double> before = model->parameters()[0].to_vector();
  Trainer trainer(model);
  trainer.compile({.optimizer = std::make_shared<SGD>(model->parameters(), SGDOptions{.lr = 1.0}), .loss = "mse"});
  trainer.fit(data, {.epochs = 1, .batch_size = 8, .clip_grad_norm = 1e-3, .verbose = Verbosity::Silent});
  double moved = 0;
  const std::vector<double> after = model->parameters()[0].to_vector();
  for (std::size_t i = 0; i < after.size(); ++i) moved += (after[i] - before[i]) * (after[i] - before[i]);
  EXPECT_LE(std::sqrt(moved), 1e-3 * (1 + 1e-9));
}

TEST(Trainer, PredictRunsInEvalModeWithoutGraphAndRestoresTheMode) {
  Generator dropout_gen(5);
  auto model = mlp(4, 8, 2, 4, DType::Float32, &dropout_gen);
  Trainer trainer(model);
  const Tensor x = regression_data(10).inputs;
  const Tensor out = trainer.predict(x, 3);  // batches of 3, 3, 3, 1
  EXPECT_EQ(out.shape(), (Shape{10, 2}));
  EXPECT_FALSE(out.requires_grad());
  EXPECT_TRUE(out.is_leaf());
  EXPECT_TRUE(model->is_training());
  model->eval();
  NoGradGuard no_grad;
  // Dropout is off, so the outputs are those of one eval-mode forward; batches of 3 against
  // one of 10 may differ in the last float bit (the GEMM blocks rows differently).
  const std::vector<float> full = model->forward(x).to_float_vector(), batched = out.to_float_vector();
  for (std::size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(batched[i], full[i], 1e-6) << i;
}

TEST(Trainer, LossesByName) {
  const Tensor p = Tensor::from_vector(std::vector<double>{0.2, 0.7, -0.4}, {3, 1}, DType::Float64);
  const Tensor t = Tensor::from_vector(std::vector<double>{0, 1, 1}, {3}, DType::Float32);
  const Tensor t3 = t.to(DType::Float64).as_strided({3, 1}, {1, 1}, 0);
  EXPECT_DOUBLE_EQ(make_loss("mse")(p, t).item(), mse_loss(p, t3).item());
  EXPECT_DOUBLE_EQ(make_loss("mae")(p, t).item(), l1_loss(p, t3).item());
  EXPECT_DOUBLE_EQ(make_loss("huber")(p, t).item(), huber_loss(p, t3).item());
  EXPECT_DOUBLE_EQ(make_loss("binary_crossentropy_with_logits")(p, t).item(),
                   binary_cross_entropy_with_logits(p, t3).item());
  const Tensor probs = Tensor::from_vector(std::vector<double>{0.2, 0.7, 0.4}, {3, 1}, DType::Float64);
  EXPECT_DOUBLE_EQ(make_loss("binary_crossentropy")(probs, t).item(), binary_cross_entropy(probs, t3).item());
  const Tensor logits = Tensor::from_vector(std::vector<double>{1, 2, 0.5, -1, 0, 3}, {2, 3}, DType::Float64);
  const Tensor labels = Tensor::from_indices({1, 2}, {2});
  const Tensor onehot = Tensor::from_vector(std::vector<double>{0, 1, 0, 0, 0, 1}, {2, 3}, DType::Float64);
  EXPECT_DOUBLE_EQ(make_loss("sparse_categorical_crossentropy")(logits, labels).item(),
                   cross_entropy(logits, labels).item());
  EXPECT_DOUBLE_EQ(make_loss("categorical_crossentropy")(logits, onehot).item(),
                   make_loss("sparse_categorical_crossentropy")(logits, labels).item());
  testing::expect_error([&] { make_loss("mse")(p, Tensor::zeros({2}, DType::Float64)); }, {"mse", "[3, 1]", "[2]"});
  testing::expect_error([] { make_loss("cross_entropy"); }, {"cross_entropy", "sparse_categorical_crossentropy"});
}

TEST(Trainer, ErrorsAreActionable) {
  Trainer trainer(mlp(4, 8, 1, 2));
  const Dataset data = regression_data(8);
  testing::expect_error([&] { trainer.fit(data); }, {"compile"});
  trainer.compile({.optimizer = std::make_shared<SGD>(trainer.model().parameters(), SGDOptions{.lr = 0.1}),
                   .loss = "mse"});
  testing::expect_error([&] { trainer.fit(data, {.batch_size = 0, .verbose = Verbosity::Silent}); },
                        {"batch_size", "0"});
  testing::expect_error([&] { trainer.fit(data, {.validation_split = 1.5, .verbose = Verbosity::Silent}); },
                        {"validation_split", "1.5"});
}

}  // namespace
}  // namespace ouro
