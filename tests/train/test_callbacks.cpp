#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gradcheck.h"
#include "train/train_helpers.h"

namespace ouro {
namespace {

using testing::mlp;
using testing::regression_data;

// A user metric whose epoch value is scripted, so monitors see a known sequence.
class ScriptedMetric : public Metric {
 public:
  ScriptedMetric(std::vector<double> values, const std::int64_t* epoch) : values_(std::move(values)), epoch_(epoch) {}
  std::string name() const override { return "scripted"; }
  void reset() override {}
  void update(const Tensor&, const Tensor&) override {}
  double result() const override { return values_.at(static_cast<std::size_t>(*epoch_)); }
  std::vector<double> state() const override { return {}; }
  void load_state(const std::vector<double>&) override {}

 private:
  std::vector<double> values_;
  const std::int64_t* epoch_;
};

// A user-written callback: tracks the epoch and snapshots weights at the end of each epoch.
class EpochTracker : public Callback {
 public:
  void on_epoch_begin(std::int64_t e) override {
    epoch = e;
    begun.push_back(e);
  }
  void on_epoch_end(std::int64_t e, const Logs& logs) override {
    ended.push_back(e);
    EXPECT_TRUE(logs.count("loss"));
    snapshots.push_back(testing::flat_weights(trainer().model()));
  }
  void on_train_begin() override { ++train_begins; }
  void on_train_end(const Logs&) override { ++train_ends; }
  std::int64_t epoch = 0;
  int train_begins = 0, train_ends = 0;
  std::vector<std::int64_t> begun, ended;
  std::vector<std::vector<float>> snapshots;
};

struct ScriptedRun {
  std::shared_ptr<Sequential> model = mlp(4, 8, 1, 2);
  Trainer trainer{model};
  std::shared_ptr<EpochTracker> tracker = std::make_shared<EpochTracker>();
  explicit ScriptedRun(std::vector<double> scripted, double lr = 0.05) {
    trainer.compile({.optimizer = std::make_shared<SGD>(model->parameters(), SGDOptions{.lr = lr}),
                     .loss = "mse",
                     .metrics = {std::make_shared<ScriptedMetric>(std::move(scripted), &tracker->epoch)}});
  }
};

TEST(Callbacks, UserCallbackSeesEveryHookInOrder) {
  ScriptedRun s({1, 1, 1});
  const History h = s.trainer.fit(regression_data(16),
                                  {.epochs = 3, .batch_size = 8, .callbacks = {s.tracker}, .verbose = Verbosity::Silent});
  EXPECT_EQ(s.tracker->begun, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(s.tracker->ended, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(s.tracker->train_begins, 1);
  EXPECT_EQ(s.tracker->train_ends, 1);
  EXPECT_EQ(h["scripted"], (std::vector<double>{1, 1, 1}));
  testing::expect_error([&] { s.tracker->trainer(); }, {"Trainer::fit"});  // detached after fit
}

TEST(Callbacks, EarlyStoppingStopsAndRestoresTheBestWeights) {
  ScriptedRun s({3, 1, 2, 2.5, 0.5, 0.1});
  auto stopper = std::make_shared<EarlyStopping>(
      EarlyStoppingOptions{.monitor = "scripted", .patience = 2, .restore_best_weights = true});
  const History h = s.trainer.fit(regression_data(16), {.epochs = 6, .batch_size = 8,
                                                        .callbacks = {s.tracker, stopper},
                                                        .verbose = Verbosity::Silent});
  EXPECT_EQ(h.epochs.size(), 4u);  // epochs 2 and 3 do not improve on epoch 1
  EXPECT_EQ(stopper->best_epoch(), 1);
  EXPECT_EQ(stopper->stopped_epoch(), 3);
  EXPECT_NE(h.stop_reason.find("EarlyStopping: scripted"), std::string::npos) << h.stop_reason;
  EXPECT_EQ(testing::flat_weights(*s.model), s.tracker->snapshots.at(1));
  EXPECT_NE(testing::flat_weights(*s.model), s.tracker->snapshots.at(3));
}

TEST(Callbacks, EarlyStoppingNamesAMissingMonitor) {
  ScriptedRun s({1});
  auto stopper = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_loss"});
  testing::expect_error([&] {
    s.trainer.fit(regression_data(8), {.epochs = 1, .batch_size = 8, .callbacks = {s.tracker, stopper},
                                       .verbose = Verbosity::Silent});
  },
                        {"EarlyStopping", "'val_loss'", "loss", "scripted"});
}

TEST(Callbacks, ModelCheckpointBestOnlyWritesOnImprovement) {
  testing::TempDir dir;
  ScriptedRun s({3, 1, 2, 0.5});
  auto checkpoint = std::make_shared<ModelCheckpoint>(ModelCheckpointOptions{
      .path = dir.file("ckpt-{epoch}.safetensors"), .save_best_only = true, .monitor = "scripted"});
  s.trainer.fit(regression_data(16), {.epochs = 4, .batch_size = 8, .callbacks = {s.tracker, checkpoint},
                                      .verbose = Verbosity::Silent});
  EXPECT_EQ(checkpoint->saved(), (std::vector<std::string>{dir.file("ckpt-1.safetensors"),
                                                           dir.file("ckpt-2.safetensors"),
                                                           dir.file("ckpt-4.safetensors")}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("ckpt-3.safetensors")));
  // The epoch-4 file holds the final weights.
  auto fresh = mlp(4, 8, 1, 77);
  const CheckpointInfo info = load_checkpoint(dir.file("ckpt-4.safetensors"), *fresh);
  EXPECT_EQ(testing::flat_weights(*fresh), testing::flat_weights(*s.model));
  EXPECT_EQ(info.progress.global_step, 8);
  EXPECT_EQ(info.progress.loader.epoch, 4);
}

TEST(Callbacks, ModelCheckpointIntoADirectoryEveryNSteps) {
  testing::TempDir dir;
  ScriptedRun s({1, 1});
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.path(), .every_n_epochs = 0, .every_n_steps = 3});
  s.trainer.fit(regression_data(32), {.epochs = 2, .batch_size = 8, .callbacks = {s.tracker, checkpoint},
                                      .verbose = Verbosity::Silent});
  EXPECT_EQ(checkpoint->saved().size(), 2u);  // steps 3 and 6 of 8
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoint.safetensors")));
}

// Compiles `trainer` (SGD, MSE) with a loss that `calls` counts and that the 4th batch (step 3)
// multiplies by `poison` (INFINITY or NAN), hence non-finite gradients at that step.
void compile_with_poisoned_step_3(Trainer& trainer, int& calls, float poison) {
  trainer.compile({.optimizer = std::make_shared<SGD>(trainer.model().parameters(), SGDOptions{.lr = 0.05}),
                   .loss = [&calls, poison](const Tensor& p, const Tensor& t) {
                     const Tensor loss = make_loss("mse")(p, t);
                     return ++calls == 4 ? mul(loss, poison) : loss;
                   }});
}

TEST(Callbacks, TerminateOnNaNStopsBeforeTheBadUpdateAndKeepsTheLastCheckpoint) {
  testing::TempDir dir;
  auto model = mlp(4, 8, 1, 2);
  Trainer trainer(model);
  int calls = 0;
  compile_with_poisoned_step_3(trainer, calls, INFINITY);
  const std::string path = dir.file("last.safetensors");
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = path, .every_n_epochs = 0, .every_n_steps = 1});
  std::vector<float> after_step_3;
  struct Snapshot : Callback {
    std::vector<float>* out;
    explicit Snapshot(std::vector<float>* o) : out(o) {}
    void on_batch_end(std::int64_t, const Logs&) override { *out = testing::flat_weights(trainer().model()); }
  };
  const History h = trainer.fit(regression_data(48),
                                {.epochs = 2, .batch_size = 8,
                                 .callbacks = {checkpoint, std::make_shared<TerminateOnNaN>(),
                                               std::make_shared<Snapshot>(&after_step_3)},
                                 .verbose = Verbosity::Silent});
  EXPECT_NE(h.stop_reason.find("TerminateOnNaN: loss is inf at step 3 (epoch 1)"), std::string::npos)
      << h.stop_reason;
  EXPECT_NE(h.stop_reason.find("first parameter with a non-finite gradient: 0.weight"), std::string::npos)
      << h.stop_reason;
  EXPECT_EQ(h.global_step, 3);
  EXPECT_TRUE(h.epochs.empty());  // no epoch completed
  // The weights never saw the bad step, and the checkpoint on disk is the last good one.
  const std::vector<float> weights = testing::flat_weights(*model);
  for (float w : weights) ASSERT_TRUE(std::isfinite(w));
  EXPECT_EQ(weights, after_step_3);
  auto fresh = mlp(4, 8, 1, 9);
  EXPECT_EQ(load_checkpoint(path, *fresh).progress.global_step, 3);
  EXPECT_EQ(testing::flat_weights(*fresh), weights);

  // With throw_error the same condition is an ouro::Error.
  calls = 0;
  testing::expect_error([&] {
    trainer.fit(regression_data(48), {.epochs = 1, .batch_size = 8,
                                      .callbacks = {std::make_shared<TerminateOnNaN>(true, true)},
                                      .verbose = Verbosity::Silent});
  },
                        {"step 3"});
}

TEST(Callbacks, TerminateOnNaNSkipLeavesTheBadStepOutAndGoesOn) {
  auto model = mlp(4, 8, 1, 2);
  Trainer trainer(model);
  int calls = 0;
  compile_with_poisoned_step_3(trainer, calls, NAN);  // step 3's loss and gradients are NaN
  std::vector<std::vector<float>> weights;  // after each step
  std::vector<Logs> logs;
  struct Snapshot : Callback {
    std::vector<std::vector<float>>* weights;
    std::vector<Logs>* logs;
    Snapshot(std::vector<std::vector<float>>* w, std::vector<Logs>* l) : weights(w), logs(l) {}
    void on_batch_end(std::int64_t, const Logs& l) override {
      weights->push_back(testing::flat_weights(trainer().model()));
      logs->push_back(l);
    }
  };
  auto skip = std::make_shared<TerminateOnNaN>(NanAction::Skip);
  const History h = trainer.fit(regression_data(48), {.epochs = 1, .batch_size = 8,
                                                      .callbacks = {skip, std::make_shared<Snapshot>(&weights, &logs)},
                                                      .verbose = Verbosity::Silent});
  EXPECT_TRUE(h.stop_reason.empty()) << h.stop_reason;
  EXPECT_EQ(h.global_step, 6);  // the skipped step still counts
  ASSERT_EQ(weights.size(), 6u);
  EXPECT_EQ(weights[3], weights[2]);  // no update at step 3
  EXPECT_NE(weights[4], weights[3]);  // and training goes on
  for (float w : weights.back()) EXPECT_TRUE(std::isfinite(w));
  EXPECT_EQ(logs[2].count("skipped_steps"), 0u);
  EXPECT_EQ(logs[3].at("skipped_steps"), 1);
  EXPECT_EQ(logs[5].at("skipped_steps"), 1);
  EXPECT_EQ(trainer.skipped_steps(), 1);
  EXPECT_EQ(skip->triggered(), 1);
  EXPECT_NE(skip->message().find("at step 3 (epoch 1); first parameter with a non-finite gradient: "
                                 "0.weight; the step's update was skipped (1 skipped in this run)"),
            std::string::npos)
      << skip->message();
  // The skipped step's NaN loss stays out of the epoch's mean.
  EXPECT_TRUE(std::isfinite(h["loss"][0]));
  EXPECT_EQ(h["skipped_steps"], std::vector<double>{1});
}

TEST(Callbacks, LearningRateSchedulerPerStepPerEpochAndFunction) {
  auto model = mlp(4, 8, 1, 2);
  auto optimizer = std::make_shared<SGD>(model->parameters(), SGDOptions{.lr = 0.1});
  Trainer trainer(model);
  trainer.compile({.optimizer = optimizer, .loss = "mse"});
  auto per_step = std::make_shared<LearningRateScheduler>(
      std::make_shared<StepSchedule>(*optimizer, StepScheduleOptions{.step_size = 2, .gamma = 0.5}),
      ScheduleUnit::Step);
  History h = trainer.fit(regression_data(32),  // 4 steps per epoch
                          {.epochs = 2, .batch_size = 8, .callbacks = {per_step}, .verbose = Verbosity::Silent});
  // The lr logged for an epoch is the one its last step used: steps 2-3 at 0.05, steps 6-7 at 0.0125.
  EXPECT_EQ(h["lr"], (std::vector<double>{0.1 * 0.5, 0.1 * 0.125}));

  optimizer->set_lr(0.1);
  auto function = std::make_shared<LearningRateScheduler>(
      LearningRateScheduler::EpochFunction([](std::int64_t epoch, double) { return 0.1 / (1 + epoch); }));
  h = trainer.fit(regression_data(32), {.epochs = 3, .batch_size = 8, .callbacks = {function},
                                        .verbose = Verbosity::Silent});
  EXPECT_EQ(h["lr"], (std::vector<double>{0.1, 0.1 / 2, 0.1 / 3}));

  optimizer->set_lr(0.1);
  auto plateau = std::make_shared<LearningRateScheduler>(
      LearningRateScheduler::Factory([](Optimizer& o) {
        return std::make_shared<ReduceLROnPlateau>(o, PlateauOptions{.mode = PlateauMode::Max, .factor = 0.5,
                                                                     .patience = 0});
      }),
      ScheduleUnit::Epoch, "loss");  // "loss" only falls, so in Max mode every epoch is a plateau
  h = trainer.fit(regression_data(32), {.epochs = 3, .batch_size = 8, .callbacks = {plateau},
                                        .verbose = Verbosity::Silent});
  // Each epoch logs the lr it trained with; the cut after epoch 1 applies from epoch 2 on.
  EXPECT_EQ(h["lr"], (std::vector<double>{0.1, 0.1, 0.05}));
}

TEST(Callbacks, MetricsLoggerWritesJsonLinesAndCsv) {
  testing::TempDir dir;
  ScriptedRun s({1, 2, 3});
  auto jsonl = std::make_shared<MetricsLogger>(
      MetricsLoggerOptions{.path = dir.file("log.jsonl"), .every_n_steps = 2});
  auto csv = std::make_shared<MetricsLogger>(MetricsLoggerOptions{.path = dir.file("log.csv")});
  s.trainer.fit(regression_data(32), {.epochs = 3, .batch_size = 8, .callbacks = {s.tracker, jsonl, csv},
                                      .verbose = Verbosity::Silent});
  std::ifstream in(dir.file("log.jsonl"));
  std::string line;
  int steps = 0, epochs = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);  // every line a complete object
    if (j.at("kind") == "step") {
      ++steps;
    } else {
      ++epochs;
      EXPECT_EQ(j.at("scripted").get<double>(), epochs);
    }
  }
  EXPECT_EQ(steps, 6);
  EXPECT_EQ(epochs, 3);
  std::ifstream csv_in(dir.file("log.csv"));
  std::vector<std::string> lines;
  while (std::getline(csv_in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "kind,epoch,step,loss,lr,scripted");
  EXPECT_EQ(lines[3].substr(0, 11), "epoch,2,12,");
  // A second run appends under the same header.
  s.tracker->epoch = 0;
  s.trainer.fit(regression_data(32), {.epochs = 1, .batch_size = 8, .callbacks = {s.tracker, csv},
                                      .verbose = Verbosity::Silent});
  std::ifstream again(dir.file("log.csv"));
  lines.clear();
  while (std::getline(again, line)) lines.push_back(line);
  EXPECT_EQ(lines.size(), 5u);
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  ScriptedRun s({0.5, 0.25});
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  s.trainer.fit(regression_data(32), {.epochs = 2, .batch_size = 8, .callbacks = {s.tracker},
                                      .verbose = Verbosity::Auto, .progress_stream = out});
  std::rewind(out);
  std::vector<std::string> lines;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, out)) lines.push_back(buffer);
  std::fclose(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("epoch 1/2 - 4 steps - ", 0), 0u) << lines[0];
  EXPECT_NE(lines[1].find(" - scripted 0.25"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(" samples/s"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].back(), '\n');
  EXPECT_EQ(lines[1].find('\r'), std::string::npos);
}

TEST(Progress, BarModeRedrawsInPlace) {
  ScriptedRun s({0.5});
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  s.trainer.fit(regression_data(32), {.epochs = 1, .batch_size = 8, .callbacks = {s.tracker},
                                      .verbose = Verbosity::Bar, .progress_stream = out});
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  EXPECT_NE(text.find("\repoch 1/1  4/4 [========================]"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace ouro
