#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "gradcheck.h"
#include "ouro/io/safetensors.h"
#include "train/train_helpers.h"

namespace ouro {
namespace {

using testing::mlp;
using testing::regression_data;

// One training run of the resume test: an MLP with dropout (its own generator), Adam, a
// per-step lr schedule, shuffled batches, a metric — every kind of state a resume must restore.
struct ResumeRun {
  Generator dropout_gen;
  std::shared_ptr<Sequential> model;
  Trainer trainer;
  std::shared_ptr<testing::LossRecorder> recorder = std::make_shared<testing::LossRecorder>();

  explicit ResumeRun(std::uint64_t seed)
      : dropout_gen(seed + 1000), model(mlp(4, 16, 1, seed, DType::Float32, &dropout_gen)), trainer(model) {
    trainer.compile({.optimizer = [](std::vector<Tensor> params) {
                       return std::make_shared<Adam>(std::move(params), AdamOptions{.lr = 0.01});
                     },
                     .loss = "mse",
                     .metrics = {"mae"}});
  }

  History fit(const Dataset& data, std::int64_t max_steps, std::vector<CallbackPtr> extra = {},
              const std::string& resume_from = "") {
    std::vector<CallbackPtr> callbacks{recorder,
                                       std::make_shared<LearningRateScheduler>(
                                           LearningRateScheduler::Factory([](Optimizer& o) {
                                             return std::make_shared<StepSchedule>(
                                                 o, StepScheduleOptions{.step_size = 4, .gamma = 0.7});
                                           }),
                                           ScheduleUnit::Step)};
    callbacks.insert(callbacks.end(), extra.begin(), extra.end());
    return trainer.fit(data, {.epochs = 3, .batch_size = 8, .validation_data = regression_data(10, 3),
                              .shuffle = true, .seed = 42, .callbacks = callbacks, .max_steps = max_steps,
                              .verbose = Verbosity::Silent, .resume_from = resume_from,
                              .generators = {{"dropout", &dropout_gen}}});
  }
};

// The test: N steps straight through, against k steps + checkpoint + a fresh model,
// optimizer and generator resumed to N — per-step losses and final weights bit-identical.
TEST(Checkpoint, ResumeIsBitIdentical) {
  const Dataset data = regression_data(44);  // 6 batches per epoch (the last one of 4), 18 steps
  ResumeRun straight(1);
  const History full = straight.fit(data, 0);
  ASSERT_EQ(straight.recorder->losses.size(), 18u);

  for (const std::int64_t k : {5, 6, 8}) {  // mid-epoch, at an epoch's last step, and after it
    SCOPED_TRACE("k = " + std::to_string(k));
    testing::TempDir dir;
    const std::string path = dir.file("run.safetensors");
    ResumeRun first(1);
    auto checkpoint = std::make_shared<ModelCheckpoint>(
        ModelCheckpointOptions{.path = path, .every_n_epochs = 0, .every_n_steps = k});
    first.fit(data, k, {checkpoint});
    ASSERT_EQ(checkpoint->saved().size(), 1u);

    ResumeRun second(99);  // other initial weights and dropout stream: all must come from the file
    ASSERT_NE(testing::flat_weights(*second.model), testing::flat_weights(*first.model));
    const History resumed = second.fit(data, 0, {}, path);

    std::vector<double> losses = first.recorder->losses;
    losses.insert(losses.end(), second.recorder->losses.begin(), second.recorder->losses.end());
    EXPECT_EQ(losses, straight.recorder->losses);
    EXPECT_EQ(testing::flat_weights(*second.model), testing::flat_weights(*straight.model));
    EXPECT_EQ(second.recorder->steps.front(), k);
    // The epoch values (exact sample-weighted means over the whole epoch) and History too.
    EXPECT_EQ(resumed.values, full.values);
    EXPECT_EQ(resumed.epochs, full.epochs);
    EXPECT_EQ(resumed.global_step, 18);
    EXPECT_EQ(second.trainer.optimizer().lr(), straight.trainer.optimizer().lr());
  }
}

TEST(Checkpoint, SaveAfterFitResumesToo) {
  const Dataset data = regression_data(44);
  ResumeRun straight(1);
  straight.fit(data, 0);
  testing::TempDir dir;
  ResumeRun first(1);
  first.fit(data, 7);
  first.trainer.save_checkpoint(dir.file("after.safetensors"));
  ResumeRun second(5);
  second.fit(data, 0, {}, dir.file("after.safetensors"));
  EXPECT_EQ(testing::flat_weights(*second.model), testing::flat_weights(*straight.model));
}

TEST(Checkpoint, MetadataHoldsEveryPart) {
  testing::TempDir dir;
  ResumeRun run(1);
  run.fit(regression_data(44), 3);
  run.trainer.save_checkpoint(dir.file("c.safetensors"));
  const SafetensorsHeader header = read_safetensors_header(dir.file("c.safetensors"));
  for (const char* key : {"format", "format_version", "ouro_version", "model_config", "optimizer", "scheduler",
                          "progress", "rng", "trainer"})
    EXPECT_TRUE(header.metadata.count(key)) << key;
  const auto config = nlohmann::json::parse(header.metadata.at("model_config"));
  EXPECT_EQ(config.at("type"), "Sequential");
  EXPECT_EQ(config.at("children").at("0").at("type"), "Linear");
  EXPECT_EQ(config.at("children").at("1").at("type"), "Dropout");
  EXPECT_EQ(nlohmann::json::parse(header.metadata.at("optimizer")).at("optimizer"), "Adam");
  EXPECT_TRUE(nlohmann::json::parse(header.metadata.at("rng")).contains("dropout"));
  bool has_model = false, has_optimizer = false;
  for (const auto& e : header.tensors) {
    has_model |= e.name == "model.0.weight";
    has_optimizer |= e.name.rfind("optimizer.param.0.exp_avg", 0) == 0;
  }
  EXPECT_TRUE(has_model);
  EXPECT_TRUE(has_optimizer);
}

TEST(Checkpoint, DifferentArchitectureFailsWithAClearMessage) {
  testing::TempDir dir;
  const std::string path = dir.file("mlp.safetensors");
  auto model = mlp(4, 16, 1, 1);
  save_checkpoint(path, *model);
  auto wider = mlp(4, 32, 1, 1);
  testing::expect_error([&] { load_checkpoint(path, *wider); },
                        {"load_checkpoint '" + path + "'", "different architecture",
                         "mis-shaped tensors: 0.bias (checkpoint [16], model [32])", "0.weight"});
  auto deeper = std::make_shared<Sequential>();
  deeper->add(std::make_shared<Linear>(4, 16));
  deeper->add(std::make_shared<Linear>(16, 1));
  deeper->add(std::make_shared<Linear>(1, 1));
  testing::expect_error([&] { load_checkpoint(path, *deeper); }, {"missing tensors: 2.bias, 2.weight"});
  auto shallow = std::make_shared<Sequential>();
  shallow->add(std::make_shared<Linear>(4, 16));
  const auto before = testing::flat_weights(*shallow);
  testing::expect_error([&] { load_checkpoint(path, *shallow); }, {"unexpected tensors: 1.bias, 1.weight"});
  EXPECT_EQ(testing::flat_weights(*shallow), before);  // a failed load changes nothing
}

TEST(Checkpoint, WrongOptimizerKindFails) {
  testing::TempDir dir;
  const std::string path = dir.file("adam.safetensors");
  auto model = mlp(4, 8, 1, 1);
  Adam adam(model->parameters());
  save_checkpoint(path, *model, {.optimizer = &adam});
  SGD sgd(model->parameters(), SGDOptions{.lr = 0.1});
  testing::expect_error([&] { load_checkpoint(path, *model, {.optimizer = &sgd}); },
                        {"load_checkpoint '" + path + "'", "wrong optimizer kind", "Adam", "SGD"});
  testing::expect_error([&] { load_checkpoint(path, *model, {.generators = {{"dropout", &default_generator()}}}); },
                        {"generator 'dropout'"});
  testing::expect_error([&] { load_checkpoint(dir.file("missing.safetensors"), *model); },
                        {"load_checkpoint '" + dir.file("missing.safetensors") + "'"});
}

TEST(Checkpoint, ResumeWithOtherBatchSizeFails) {
  testing::TempDir dir;
  ResumeRun run(1);
  run.fit(regression_data(44), 3);
  run.trainer.save_checkpoint(dir.file("c.safetensors"));
  ResumeRun other(1);
  testing::expect_error([&] {
    other.trainer.fit(regression_data(44), {.batch_size = 4, .verbose = Verbosity::Silent,
                                            .resume_from = dir.file("c.safetensors"),
                                            .generators = {{"dropout", &other.dropout_gen}}});
  },
                        {"batch_size = 8", "this run has 4"});
}

// A save that fails half-way (the file-size limit makes write() fail with EFBIG) leaves the
// previous checkpoint byte for byte as it was.
TEST(Checkpoint, FailedSaveLeavesThePreviousCheckpointIntact) {
  testing::TempDir dir;
  const std::string path = dir.file("last.safetensors");
  auto model = mlp(4, 64, 1, 1);
  save_checkpoint(path, *model);
  auto read = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = read();
  ASSERT_GT(before.size(), 1500u);

  for (Tensor p : model->parameters()) p.fill_(0.5);  // different contents to write
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  try {
    save_checkpoint(path, *model);
  } catch (const Error&) {
    threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_TRUE(threw);
  EXPECT_EQ(read(), before);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) (void)entry, ++files;
  EXPECT_EQ(files, 1u);  // no temporary left behind
  auto fresh = mlp(4, 64, 1, 2);
  load_checkpoint(path, *fresh);  // still a valid checkpoint
}

// Resuming a checkpoint that is already at max_steps trains nothing more (it used to run one
// more step before the check after each step stopped it).
TEST(Checkpoint, ResumeAtOrPastMaxStepsTrainsNoStep) {
  const Dataset data = regression_data(44);
  testing::TempDir dir;
  const std::string path = dir.file("run.safetensors");
  ResumeRun first(1);
  first.fit(data, 5, {std::make_shared<ModelCheckpoint>(
                         ModelCheckpointOptions{.path = path, .every_n_epochs = 0, .every_n_steps = 5})});
  for (const std::int64_t max_steps : {5, 3}) {
    ResumeRun second(7);
    const History h = second.fit(data, max_steps, {}, path);
    EXPECT_EQ(h.global_step, 5) << "max_steps " << max_steps;
    EXPECT_TRUE(second.recorder->losses.empty()) << "max_steps " << max_steps;
    EXPECT_EQ(testing::flat_weights(*second.model), testing::flat_weights(*first.model));
    EXPECT_NE(h.stop_reason.find("max_steps"), std::string::npos) << h.stop_reason;
  }
}

}  // namespace
}  // namespace ouro
