// A stateful character LSTM resumed from a mid-epoch checkpoint continues exactly: its carried
// state (the last window's final h and c, which the next window starts from) travels in the
// checkpoint as "carried.*" tensors. Without it the resumed run restarted the state from zeros
// and drifted from an uninterrupted one.
#include <gtest/gtest.h>

#include <fstream>

#include "ouro/io/safetensors.h"
#include "ouro/optim/adam.h"
#include "ouro/tensor/random.h"
#include "ouro/train/char_lm_task.h"
#include "train/train_helpers.h"

namespace ouro {
namespace {

// A small fortune-style file: entries of seeded pseudo-words separated by "%" lines.
std::string write_corpus(const testing::TempDir& dir) {
  const std::string path = dir.file("corpus.txt");
  std::ofstream out(path);
  Generator gen(17);
  const char* words[] = {"the", "snake", "eats", "its", "own", "tail", "and", "grows", "again", "slowly"};
  for (int entry = 0; entry < 60; ++entry) {
    for (int w = 0; w < 12; ++w) out << words[gen.next_u64() % 10] << (w == 11 ? "\n" : " ");
    out << "%\n";
  }
  return path;
}

struct StatefulRun {
  CharLMData data;
  std::shared_ptr<CharLM> model;
  Trainer trainer;
  std::shared_ptr<testing::LossRecorder> recorder = std::make_shared<testing::LossRecorder>();

  StatefulRun(const std::string& corpus, std::uint64_t seed)
      : data(prepare_char_lm_data({.corpus = corpus, .validation_fraction = 0.1, .window = 8, .batch_size = 4})),
        model(std::make_shared<CharLM>(data.vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 8,
                                                                 .dropout = 0.1, .stateful = true, .seed = seed})),
        trainer(model) {
    trainer.compile({.optimizer = [](std::vector<Tensor> params) {
                       return std::make_shared<Adam>(std::move(params), AdamOptions{.lr = 0.01});
                     },
                     .loss = "sparse_categorical_crossentropy"});
  }

  void fit(std::int64_t max_steps, std::vector<CallbackPtr> extra = {}, const std::string& resume_from = "") {
    FitOptions options = char_lm_fit_options(data, *model, /*validate=*/false);
    options.epochs = 2;
    options.max_steps = max_steps;
    options.verbose = Verbosity::Silent;
    options.resume_from = resume_from;
    options.callbacks.push_back(recorder);
    options.callbacks.insert(options.callbacks.end(), extra.begin(), extra.end());
    trainer.fit(data.train, options);
  }
};

TEST(CharLmResume, StatefulRunResumedMidEpochIsBitIdentical) {
  testing::TempDir dir;
  const std::string corpus = write_corpus(dir);
  StatefulRun straight(corpus, 1);
  straight.fit(0);
  const std::size_t total = straight.recorder->losses.size();
  const std::int64_t per_epoch = straight.data.train.size() / 4;
  ASSERT_GT(per_epoch, 6) << "the corpus must give several windows per stream";
  ASSERT_EQ(total, static_cast<std::size_t>(2 * per_epoch));

  const std::int64_t k = per_epoch / 2 + 1;  // inside the first epoch: the state is mid-stream
  const std::string path = dir.file("mid.safetensors");
  StatefulRun first(corpus, 1);
  auto checkpoint = std::make_shared<ModelCheckpoint>(
      ModelCheckpointOptions{.path = path, .every_n_epochs = 0, .every_n_steps = k});
  first.fit(k, {checkpoint});
  ASSERT_EQ(checkpoint->saved().size(), 1u);
  // The carried state is in the file, with the batch's shape.
  const SafetensorsFile file = load_safetensors(path);
  ASSERT_TRUE(file.tensors.count("carried.h"));
  ASSERT_TRUE(file.tensors.count("carried.c"));
  EXPECT_EQ(file.tensors.at("carried.h").shape(), (Shape{first.model->options().num_layers, 4, 8}));

  StatefulRun second(corpus, 99);  // other weights: everything must come from the file
  second.fit(0, {}, path);
  std::vector<double> losses = first.recorder->losses;
  losses.insert(losses.end(), second.recorder->losses.begin(), second.recorder->losses.end());
  EXPECT_EQ(losses, straight.recorder->losses);
  EXPECT_EQ(testing::flat_weights(*second.model), testing::flat_weights(*straight.model));
}

TEST(CharLmResume, UnknownCarriedTensorIsRefusedByName) {
  testing::TempDir dir;
  const std::string corpus = write_corpus(dir);
  StatefulRun run(corpus, 1);
  run.fit(3);
  const std::string path = dir.file("ck.safetensors");
  run.trainer.save_checkpoint(path);
  SafetensorsFile file = load_safetensors(path);
  file.tensors["carried.nowhere.h"] = file.tensors.at("carried.h");
  save_safetensors(path, file.tensors, file.metadata);
  StatefulRun other(corpus, 2);
  try {
    other.fit(0, {}, path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("carried.nowhere.h"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no module \"nowhere\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ouro
