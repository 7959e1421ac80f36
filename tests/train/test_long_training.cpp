// A thousand optimizer steps of a small GPT through Trainer::fit with everything a real run
// uses: a BPE vocabulary learned from a corpus file, memory-mapped training tokens redrawn every
// epoch, AdamW with a warm-up-cosine schedule, clipping, dropout, NaN checks, checkpoints,
// step metrics and validation. In the ordinary build it checks that the model learns and that
// the tensor memory held between steps does not grow; under `make test-asan` LeakSanitizer
// also checks at exit that nothing the thousand steps allocated was lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "ouro/nn/gpt.h"
#include "ouro/optim/adam.h"
#include "ouro/tensor/allocator.h"
#include "ouro/train/token_lm_task.h"
#include "train/train_helpers.h"

namespace ouro::testing {
namespace {

// Fortune-format text with structure to learn: fixed phrases around varying words.
std::string phrase_corpus() {
  const char* subjects[] = {"the fox", "a cat", "my dog", "the owl", "our bird"};
  const char* verbs[] = {"jumps over", "runs past", "sleeps near", "looks at"};
  const char* objects[] = {"the fence", "a tree", "the river", "an old house", "the moon"};
  std::string text;
  std::uint64_t state = 12345;
  auto next = [&state](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((state >> 33) % n);
  };
  for (int entry = 0; entry < 120; ++entry) {
    text += "Entry " + std::to_string(entry) + ": ";
    for (int sentence = 0; sentence < 2; ++sentence)
      text += std::string(subjects[next(5)]) + " " + verbs[next(4)] + " " + objects[next(5)] + ". ";
    text += "\n%\n";
  }
  return text;
}

// Each step's loss, and the tensor bytes live at the end of chosen steps (after the optimizer
// step and every callback before this one, when only weights, gradients and optimizer state
// should remain).
class StepProbe : public Callback {
 public:
  explicit StepProbe(std::vector<std::int64_t> probe_steps) : probe_steps_(std::move(probe_steps)) {}
  void on_batch_end(std::int64_t step, const Logs& logs) override {
    losses.push_back(logs.at("loss"));
    if (std::find(probe_steps_.begin(), probe_steps_.end(), step) != probe_steps_.end())
      live_bytes.push_back(memory_stats().live_bytes);
  }
  std::vector<double> losses;
  std::vector<std::size_t> live_bytes;

 private:
  std::vector<std::int64_t> probe_steps_;
};

double mean_of(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end),
                         0.0) /
         static_cast<double>(end - begin);
}

TEST(LongTraining, AThousandGptStepsLearnAndHoldTheirMemorySteady) {
  TempDir dir;
  const std::string corpus = dir.file("corpus.txt");
  std::ofstream(corpus, std::ios::binary) << phrase_corpus();
  auto data = std::make_shared<TokenLMData>(prepare_token_lm_data(
      {.corpus = corpus, .validation_fraction = 0.1, .tokenizer = "bpe", .vocab_size = 320,
       .token_file = dir.file("train.tokens")}));

  GptConfig config;
  config.vocab_size = data->tokenizer.vocab_size();
  config.context = 16;
  config.width = 16;
  config.layers = 1;
  config.heads = 2;
  config.dropout_embd = config.dropout_attn = config.dropout_resid = 0.05;
  config.seed = 5;
  auto model = std::make_shared<Gpt>(config);
  auto windows = std::make_shared<TokenWindows>(data->train_tokens, config.context, 3);

  Trainer trainer(model);
  trainer.compile({.optimizer = [](std::vector<Tensor> params) {
                     return std::make_shared<AdamW>(std::move(params), AdamWOptions{.lr = 0.01, .weight_decay = 0.01});
                   },
                   .loss = "sparse_categorical_crossentropy"});
  constexpr std::int64_t kSteps = 1000;
  auto probe = std::make_shared<StepProbe>(std::vector<std::int64_t>{199, 599, kSteps - 1});
  auto checkpoints = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = dir.file("checkpoint.safetensors"), .every_n_epochs = 0, .every_n_steps = 250});
  auto validation = std::make_shared<TokenLMValidation>(*model, data, config.context, 250, dir.file("metrics.jsonl"));
  const History history = trainer.fit(
      windows->dataset(),
      {.epochs = 1000,
       .batch_size = 4,
       .shuffle = false,
       .drop_last = true,  // every step the same shape, so the memory held between steps compares
       .callbacks = {std::make_shared<RedrawWindowsEachEpoch>(windows),
                     std::make_shared<LearningRateScheduler>(
                         [](Optimizer& o) {
                           return std::make_shared<WarmupCosineSchedule>(
                               o, WarmupCosineOptions{.warmup_steps = 50, .total_steps = kSteps, .min_lr = 1e-3});
                         },
                         ScheduleUnit::Step),
                     std::make_shared<TerminateOnNaN>(), checkpoints,
                     std::make_shared<MetricsLogger>(
                         MetricsLoggerOptions{.path = dir.file("metrics.jsonl"), .every_n_steps = 50}),
                     validation, probe},
       .clip_grad_norm = 1.0,
       .max_steps = kSteps,
       .verbose = Verbosity::Silent,
       .generators = {{"gpt", &model->generator()}}});

  EXPECT_EQ(history.global_step, kSteps);
  ASSERT_EQ(probe->losses.size(), static_cast<std::size_t>(kSteps));
  EXPECT_GT(windows->epoch(), 5);  // many epochs of redrawn windows, not one long pass
  EXPECT_EQ(checkpoints->saved().size(), 4u);
  // Learned: the phrases are predictable, so the last steps' loss is far below the first's
  // (about ln 320 = 5.8 nats at the start).
  const double first = mean_of(probe->losses, 0, 10), last = mean_of(probe->losses, kSteps - 100, kSteps);
  EXPECT_GT(first, 5.0);
  EXPECT_LT(last, 0.25 * first) << "first " << first << ", last " << last;
  EXPECT_TRUE(std::isfinite(validation->last().bits_per_byte()));
  EXPECT_GT(validation->last().tokens, 0);
  // Nothing accumulates between steps: the tensors alive after step 200 are exactly those
  // alive after step 1000 (a graph kept alive by a cycle, or state appended every step,
  // would add bytes each step).
  ASSERT_EQ(probe->live_bytes.size(), 3u);
  EXPECT_EQ(probe->live_bytes[1], probe->live_bytes[0]);
  EXPECT_EQ(probe->live_bytes[2], probe->live_bytes[0]);
}

}  // namespace
}  // namespace ouro::testing
