// Real-data classification with the whole stack (data readers, scalers, Sequential, Trainer,
// Adam, cross-entropy): the accuracy bars of the modules/training issue, seeded.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "ouro/ouro.h"
#include "ouro/train/trainer.h"

namespace ouro::testing {
namespace {

struct Result {
  double test_accuracy = 0;
  double seconds = 0;
};

// Stratified 80/20 split, standardised with the training split's statistics (MNIST's pixels
// are left in [0, 1]: a border pixel that is almost always 0 in training would get a huge
// z-score in the test set), an MLP with
// `hidden` ReLU units per layer (each optionally followed by dropout), AdamW (decoupled
// weight decay; 0 makes it Adam), sparse categorical cross-entropy.
Result train_mlp(const Dataset& data, const std::vector<std::int64_t>& hidden, std::int64_t epochs,
                 std::int64_t batch_size, double lr, std::uint64_t seed, double dropout = 0.0,
                 bool standardize = true, double weight_decay = 0.0) {
  const auto start = std::chrono::steady_clock::now();
  manual_seed(seed);
  TrainTestSplit split = train_test_split(data, 0.2, seed, /*stratified=*/true);
  if (standardize) {
    StandardScaler scaler;
    split.train.inputs = scaler.fit_transform(split.train.inputs);
    split.test.inputs = scaler.transform(split.test.inputs);
  }
  Generator gen(seed);
  auto model = std::make_shared<Sequential>();
  std::int64_t width = data.inputs.size(1);
  for (std::int64_t h : hidden) {
    model->add(std::make_shared<Linear>(LinearOptions{.in = width, .out = h, .activation = ActivationKind::Relu, .generator = &gen}));
    if (dropout > 0) model->add(std::make_shared<Dropout>(dropout, &gen));
    width = h;
  }
  model->add(std::make_shared<Linear>(LinearOptions{.in = width, .out = data.num_classes(), .generator = &gen}));
  Trainer trainer(model);
  trainer.compile({.optimizer = std::make_shared<AdamW>(model->parameters(), AdamWOptions{.lr = lr, .weight_decay = weight_decay}),
                   .loss = "sparse_categorical_crossentropy",
                   .metrics = {"accuracy"}});
  trainer.fit(split.train, {.epochs = epochs, .batch_size = batch_size, .seed = seed, .verbose = Verbosity::Lines});
  Result result;
  result.test_accuracy = trainer.evaluate(split.test, 256).at("accuracy");
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

bool sklearn_present() {
  return std::filesystem::exists("/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv");
}

TEST(RealData, DigitsMlpReaches96Percent) {
  if (!sklearn_present()) GTEST_SKIP() << "python3-sklearn's data files are not installed (scripts/setup.sh installs them)";
  const Result r = train_mlp(load_digits(), {128}, 30, 32, 1e-3, 11);
  std::printf("digits: test accuracy %.4f in %.1f s\n", r.test_accuracy, r.seconds);
  EXPECT_GE(r.test_accuracy, 0.96);
}

TEST(RealData, IrisReaches93Percent) {
  if (!sklearn_present()) GTEST_SKIP() << "python3-sklearn's data files are not installed (scripts/setup.sh installs them)";
  const Result r = train_mlp(load_iris(), {16}, 100, 16, 1e-2, 12);
  std::printf("iris: test accuracy %.4f in %.1f s\n", r.test_accuracy, r.seconds);
  EXPECT_GE(r.test_accuracy, 0.93);
}

TEST(RealData, WineReaches93Percent) {
  if (!sklearn_present()) GTEST_SKIP() << "python3-sklearn's data files are not installed (scripts/setup.sh installs them)";
  const Result r = train_mlp(load_wine(), {32}, 60, 16, 1e-2, 13);
  std::printf("wine: test accuracy %.4f in %.1f s\n", r.test_accuracy, r.seconds);
  EXPECT_GE(r.test_accuracy, 0.93);
}

TEST(RealData, MnistMlpReaches95Percent) {
  Dataset mnist;
  try {
    mnist = load_mnist();
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  // 8,000 train / 2,000 test, stratified.
  const Result r = train_mlp(mnist, {512}, 20, 64, 1e-3, 14, /*dropout=*/0.3, /*standardize=*/false, /*weight_decay=*/0.01);
  std::printf("mnist: test accuracy %.4f in %.1f s\n", r.test_accuracy, r.seconds);
  EXPECT_GE(r.test_accuracy, 0.95);
}

}  // namespace
}  // namespace ouro::testing
