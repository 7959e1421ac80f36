// CharLM: forward values against PyTorch's Embedding -> LSTM -> Linear at the same weights,
// stateful carry equal to one long pass, config/checkpoint round trip with the vocabulary,
// bit-identical training from the same seed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "fixture.h"
#include "ouro/data/lm_dataset.h"
#include "ouro/nn/char_lm.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/adam.h"
#include "ouro/train/char_lm_task.h"
#include "ouro/train/checkpoint.h"
#include "ouro/train/trainer.h"

namespace ouro::testing {
namespace {

void expect_close(const Tensor& actual, const Tensor& expected, double tolerance, const char* what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const auto a = actual.to_vector(), e = expected.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], e[i], tolerance) << what << " element " << i;
}

TEST(CharLM, MatchesPyTorch) {
  const auto f = load_fixture("char_lm_fixtures.json");
  const CharVocab vocab = CharVocab::build("abcdef");  // 6 characters + unknown = 7
  ASSERT_EQ(vocab.size(), f["vocab_size"].get<std::int64_t>());
  CharLM model(vocab, CharLMOptions{.embedding_dim = f["embedding_dim"], .hidden_size = f["hidden_size"],
                                    .num_layers = f["num_layers"]});
  StateDict weights;
  for (const auto& [name, t] : f["weights"].items()) weights[name] = fixture_tensor(t, DType::Float32);
  model.load_state_dict(weights);
  const Tensor ids = fixture_tensor(f["ids"], DType::Int64);
  const Tensor targets = fixture_tensor(f["targets"], DType::Int64);
  const RecurrentState initial{fixture_tensor(f["h0"], DType::Float32), fixture_tensor(f["c0"], DType::Float32)};
  const RecurrentOutput out = model.forward_with_state(ids, initial);
  expect_close(out.output, fixture_tensor(f["logits"]), 2e-5, "logits");
  expect_close(out.state.h, fixture_tensor(f["hn"]), 2e-5, "h_n");
  expect_close(out.state.c, fixture_tensor(f["cn"]), 2e-5, "c_n");
  const Tensor loss = cross_entropy(out.output, targets);
  EXPECT_NEAR(loss.item(), f["loss"].get<double>(), 2e-5);
  loss.backward();
  Tensor table;
  for (const auto& [name, p] : model.named_parameters())
    if (name == "embedding.weight") table = p;
  ASSERT_TRUE(table.defined());
  expect_close(table.grad(), fixture_tensor(f["embedding_grad"]), 2e-5, "embedding gradient");
}

TEST(CharLM, StatefulTrainingCarriesTheStateAcrossBatches) {
  const CharVocab vocab = CharVocab::build("the quick brown fox");
  CharLM whole(vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 8, .num_layers = 2, .seed = 3});
  CharLM halves(vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 8, .num_layers = 2, .stateful = true, .seed = 3});
  const Tensor ids = Tensor::from_indices(vocab.encode("the quick brown fox jumps"), {1, 25});
  const Tensor two = concat({ids, ids}, 0);  // [2, 25]
  const Tensor expected = whole.forward(two);
  const Tensor first = halves.forward(narrow(two, 1, 0, 10));
  const Tensor second = halves.forward(narrow(two, 1, 10, 15));  // starts where the first stopped
  expect_close(concat({first, second}, 1), expected, 1e-5, "carried logits");
  // A different batch size starts from zeros; reset_state forgets.
  halves.reset_state();
  expect_close(halves.forward(narrow(two, 1, 0, 10)), narrow(expected, 1, 0, 10), 1e-6, "after reset");
  // In eval mode every call starts from zeros.
  halves.eval();
  expect_close(halves.forward(narrow(two, 1, 0, 10)), narrow(expected, 1, 0, 10), 1e-6, "eval");
  EXPECT_THROW(halves.forward(Tensor::zeros({2, 3})), Error);  // float ids
}

TEST(CharLM, CheckpointRebuildsModelAndVocabulary) {
  const CharVocab vocab = CharVocab::build("春眠不觉晓，处处闻啼鸟。");
  CharLM model(vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 6, .num_layers = 1, .dropout = 0.25, .seed = 9});
  const std::string path = ::testing::TempDir() + "char_lm_ckpt.safetensors";
  save_checkpoint(path, model);
  const auto back = load_char_lm(path);
  EXPECT_TRUE(back->vocab() == vocab);
  EXPECT_EQ(back->options().hidden_size, 6);
  EXPECT_EQ(back->options().dropout, 0.25);
  model.eval();
  back->eval();
  const Tensor ids = Tensor::from_indices(vocab.encode("处处闻"), {1, 3});
  expect_close(back->forward(ids), model.forward(ids), 0.0, "reloaded logits");

  // A checkpoint of another model is refused with the file's name.
  Linear other(2, 3);
  const std::string other_path = ::testing::TempDir() + "not_char_lm.safetensors";
  save_checkpoint(other_path, other);
  try {
    load_char_lm(other_path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(other_path), std::string::npos) << e.what();
  }
  EXPECT_THROW(CharLM::from_config_json("{\"hidden_size\": 3}"), Error);
}

TEST(CharLM, SameSeedGivesBitIdenticalLosses) {
  const std::string text = "a man a plan a canal panama; a man a plan a canal panama!\n";
  std::vector<std::int64_t> ids;
  const CharVocab vocab = CharVocab::build(text);
  for (int i = 0; i < 8; ++i) {
    const auto some = vocab.encode(text);
    ids.insert(ids.end(), some.begin(), some.end());
  }
  const auto run = [&] {
    auto model = std::make_shared<CharLM>(vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 8, .num_layers = 2,
                                                               .dropout = 0.1, .stateful = true, .seed = 5});
    manual_seed(1);
    Trainer trainer(model);
    trainer.compile({.optimizer = std::make_shared<Adam>(model->parameters(), AdamOptions{.lr = 0.01}),
                     .loss = "sparse_categorical_crossentropy"});
    std::vector<double> losses;
    for (int epoch = 0; epoch < 3; ++epoch) {
      const History h = trainer.fit(make_lm_streams(ids, 4, 16), {.epochs = 1, .batch_size = 4, .shuffle = false,
                                                                  .verbose = Verbosity::Silent});
      losses.push_back(h["loss"].back());
    }
    return losses;
  };
  const auto a = run(), b = run();
  EXPECT_EQ(a, b);
  EXPECT_LT(a.back(), a.front());
}

}  // namespace
}  // namespace ouro::testing
