// Learning a BPE vocabulary: the merges of a worked example, determinism, round trips, the
// saved files reloading to the same tokenizer, and compression on real text.
#include <gtest/gtest.h>

#include <filesystem>

#include "../gradcheck.h"
#include "../temp_path.h"
#include "ouro/data/bpe_trainer.h"
#include "ouro/data/text_corpus.h"

namespace ouro::testing {
namespace {

TEST(BpeTrainer, WorkedExample) {
  // "abababab" is one piece: "a b" occurs 4 times, then "ab ab" 3 times (overlapping pairs
  // counted, merged left to right into two "abab"), then "abab abab" once < min_frequency 2.
  BpeTrainOptions options;
  options.vocab_size = 300;
  const BpeTokenizer tok = train_bpe({"abababab"}, options);
  ASSERT_EQ(tok.merge_count(), 2u);
  EXPECT_EQ(tok.vocab_size(), 256 + 2 + 1);
  EXPECT_EQ(tok.symbol(256), "ab");
  EXPECT_EQ(tok.symbol(257), "abab");
  EXPECT_EQ(tok.symbol(258), "<|endoftext|>");
  EXPECT_EQ(tok.encode("abababab"), (std::vector<std::int64_t>{257, 257}));
  EXPECT_EQ(tok.encode("aba"), (std::vector<std::int64_t>{256, 'a'}));
}

TEST(BpeTrainer, DeterministicRoundTripsAndSavesInGpt2Format) {
  const TextCorpus corpus = load_text_corpus("fortunes");
  const std::vector<std::string> texts(corpus.entries.begin(), corpus.entries.begin() + 2000);
  BpeTrainOptions options;
  options.vocab_size = 1000;
  const BpeTokenizer a = train_bpe(texts, options);
  const BpeTokenizer b = train_bpe(texts, options);
  ASSERT_EQ(a.vocab_size(), 1000);
  for (std::int64_t id = 0; id < a.vocab_size(); ++id) ASSERT_EQ(a.symbol(id), b.symbol(id)) << id;

  std::size_t bytes = 0, tokens = 0;
  for (std::size_t i = 2000; i < 2300; ++i) {
    const std::string& text = corpus.entries[i];
    const auto ids = a.encode(text);
    EXPECT_EQ(a.decode(ids), text);
    bytes += text.size();
    tokens += ids.size();
  }
  // Held-out English text: a 1000-symbol vocabulary should need well under half a token per byte.
  EXPECT_LT(static_cast<double>(tokens) / static_cast<double>(bytes), 0.45) << tokens << " tokens for " << bytes << " bytes";

  const auto dir = ouro::testing::unique_temp_path("ouro_bpe_trained");
  std::filesystem::create_directories(dir);
  a.save((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  const BpeTokenizer reloaded = BpeTokenizer::load((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  ASSERT_EQ(reloaded.vocab_size(), a.vocab_size());
  for (std::size_t i = 2300; i < 2350; ++i) EXPECT_EQ(reloaded.encode(corpus.entries[i]), a.encode(corpus.entries[i]));
  std::filesystem::remove_all(dir);
}

TEST(BpeTrainer, GPT2FilesSurviveASaveAndReload) {
  const BpeTokenizer gpt2 = BpeTokenizer::load_gpt2();
  const auto dir = ouro::testing::unique_temp_path("ouro_bpe_gpt2_copy");
  std::filesystem::create_directories(dir);
  gpt2.save((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  const BpeTokenizer copy = BpeTokenizer::load((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  const std::string text = "It's a test: 12 birds, 3.5 cats; naïve café.\n";
  EXPECT_EQ(copy.encode(text), gpt2.encode(text));
  std::filesystem::remove_all(dir);
}

TEST(BpeTrainer, RejectsBadOptions) {
  BpeTrainOptions options;
  options.vocab_size = 100;
  expect_error([&] { train_bpe({"x"}, options); }, {"vocab_size", "at least 257"});
  options.vocab_size = 300;
  options.min_frequency = 0;
  expect_error([&] { train_bpe({"x"}, options); }, {"min_frequency"});
}

}  // namespace
}  // namespace ouro::testing
