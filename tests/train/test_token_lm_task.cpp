// The token LM task: tokenizers with exact byte accounting and JSON round trips, the corpus
// split shared with char_lm_task (same validation text), files held out of training, random
// windows that are deterministic per (seed, epoch), and scoring in bits per byte that counts
// every target exactly once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ouro/data/bpe_trainer.h"
#include "ouro/data/text_tokenizer.h"
#include "ouro/data/token_file.h"
#include "ouro/nn/char_lm.h"
#include "ouro/train/char_lm_task.h"
#include "ouro/train/token_lm_task.h"

namespace ouro::testing {
namespace {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ouro_token_lm_XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

 private:
  std::string dir_;
};

std::string small_corpus() {
  std::string corpus;
  for (int i = 0; i < 40; ++i)
    corpus += "Entry " + std::to_string(i) + ": the quick brown fox, café " + std::to_string(i * 7) + ".\n%\n";
  return corpus;
}

TEST(TextTokenizer, EveryKindRoundTripsAndCountsBytes) {
  const std::string text = "Hello, café — 床前明月光 \xff\xfe end\n";
  const CharVocab vocab = CharVocab::build(std::string("Hello, café — 床前明月光 end\n"));
  const BpeTokenizer bpe = train_bpe({text, text}, BpeTrainOptions{.vocab_size = 270, .min_frequency = 1});
  for (const TextTokenizer& t : {TextTokenizer::bytes(), TextTokenizer::chars(vocab), TextTokenizer::bpe(bpe)}) {
    SCOPED_TRACE(t.kind_name());
    const auto ids = t.encode(text);
    const auto bytes = t.token_bytes(text, ids);
    std::int64_t total = 0;
    for (const auto b : bytes) {
      EXPECT_GE(b, 1);
      total += b;
    }
    EXPECT_EQ(total, static_cast<std::int64_t>(text.size()));
    for (const auto id : ids) EXPECT_TRUE(id >= 0 && id < t.vocab_size());
    const TextTokenizer back = TextTokenizer::from_json(t.to_json());
    EXPECT_EQ(back.kind(), t.kind());
    EXPECT_EQ(back.vocab_size(), t.vocab_size());
    EXPECT_EQ(back.encode(text), ids);
    if (t.kind() != TextTokenizer::Kind::Char) {
      EXPECT_EQ(t.decode(ids), text);  // exact for bytes and BPE
    }
  }
  EXPECT_EQ(TextTokenizer::bytes().encode("ab"), (std::vector<std::int64_t>{97, 98}));
  EXPECT_EQ(TextTokenizer::chars(vocab).token_bytes("é床", TextTokenizer::chars(vocab).encode("é床")),
            (std::vector<std::int64_t>{2, 3}));
  EXPECT_THROW(TextTokenizer::bytes().token_bytes("abc", {97, 98}), Error);
  EXPECT_THROW(TextTokenizer::from_json("{\"type\": \"words\"}"), Error);
  EXPECT_THROW(TextTokenizer::bytes().decode({256}), Error);
}

TEST(TokenLMData, SplitEqualsCharLmTaskAndWritesTheTokenFile) {
  ScratchDir dir;
  const std::string corpus = dir.write("corpus.txt", small_corpus());
  TokenLMDataOptions options;
  options.corpus = corpus;
  options.validation_fraction = 0.2;
  options.split_seed = 3;
  options.tokenizer = "byte";
  options.token_file = dir.path("train.tokens");
  const TokenLMData data = prepare_token_lm_data(options);
  EXPECT_EQ(data.validation_entries, 8);
  EXPECT_EQ(data.train_entries, 32);

  // The character LM's validation stream is the same text, character for character.
  const CharLMData chars = prepare_char_lm_data(
      CharLMDataOptions{.corpus = corpus, .validation_fraction = 0.2, .split_seed = 3, .window = 8, .batch_size = 2});
  EXPECT_EQ(chars.vocab.decode(chars.validation_ids), data.validation_text);
  EXPECT_EQ(corpus_validation_text(corpus, 0.2, 3), data.validation_text);

  // The token file holds the training text's bytes.
  const TokenFile& tokens = *data.train_tokens;
  EXPECT_EQ(tokens.vocab_size(), 256);
  EXPECT_EQ(tokens.size(), data.train_bytes);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(tokens.size()));
  tokens.read(0, tokens.size(), ids.data());
  std::string text;
  for (const auto id : ids) text += static_cast<char>(id);
  EXPECT_EQ(text, join_entries(split_entries(load_text_corpus(corpus).entries, 0.2, 3).train));
  EXPECT_EQ(data.validation_ids.size(), data.validation_text.size());

  // A BPE vocabulary learned from the training split only.
  options.tokenizer = "bpe";
  options.vocab_size = 300;
  const TokenLMData bpe = prepare_token_lm_data(options);
  EXPECT_EQ(bpe.tokenizer.vocab_size(), 300);
  EXPECT_LT(bpe.train_tokens->size(), data.train_bytes);
  EXPECT_EQ(bpe.tokenizer.decode(bpe.validation_ids), data.validation_text);
}

TEST(TokenLMData, ExcludedFilesLeaveTrainingButNotValidation) {
  // A miniature "fortunes" directory: every file of the English corpus, three entries each.
  ScratchDir dir;
  std::filesystem::create_directories(dir.path("fortunes"));
  for (const std::string& name : english_fortune_files()) {
    std::string text;
    for (int i = 0; i < 3; ++i) text += "from " + name + " number " + std::to_string(i) + "\n%\n";
    dir.write("fortunes/" + name, text);
  }
  TokenLMDataOptions options;
  options.corpus = "fortunes";
  options.directory = dir.path("fortunes");
  options.tokenizer = "byte";
  options.validation_fraction = 0.1;
  options.token_file = dir.path("all.tokens");
  const TokenLMData all = prepare_token_lm_data(options);
  options.exclude_files = {"songs-poems"};
  options.token_file = dir.path("some.tokens");
  const TokenLMData some = prepare_token_lm_data(options);

  EXPECT_EQ(some.validation_text, all.validation_text);
  EXPECT_EQ(some.train_entries + some.excluded_entries, all.train_entries);
  // songs-poems' entries that were in training (three minus those held out) are gone.
  std::int64_t in_validation = 0;
  for (int i = 0; i < 3; ++i)
    in_validation += all.validation_text.find("from songs-poems number " + std::to_string(i)) != std::string::npos;
  EXPECT_EQ(some.excluded_entries, 3 - in_validation);
  auto training_text = [](const TokenLMData& d) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(d.train_tokens->size()));
    d.train_tokens->read(0, d.train_tokens->size(), ids.data());
    return std::string(ids.begin(), ids.end());
  };
  EXPECT_NE(training_text(all).find("from songs-poems"), std::string::npos);
  EXPECT_EQ(training_text(some).find("from songs-poems"), std::string::npos);
  EXPECT_NE(training_text(some).find("from sports"), std::string::npos);

  options.exclude_files = {"song-poems"};
  try {
    prepare_token_lm_data(options);
    ADD_FAILURE() << "an unknown file name must be an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'song-poems' is not a file of corpus 'fortunes'"), std::string::npos)
        << e.what();
  }
}

TEST(TokenWindows, RandomWindowsArePairsAndDependOnSeedAndEpochOnly) {
  ScratchDir dir;
  std::vector<std::int64_t> ids(500);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * 7919) % 251);
  write_token_file(dir.path("t.tokens"), ids, 256);
  auto tokens = std::make_shared<TokenFile>(dir.path("t.tokens"));
  TokenWindows windows(tokens, 16, 5);
  ASSERT_EQ(windows.dataset().size(), (500 - 1) / 16);
  auto snapshot = [&]() {
    const Dataset& d = windows.dataset();
    return std::vector<std::int64_t>(d.inputs.data<std::int64_t>(), d.inputs.data<std::int64_t>() + d.inputs.numel());
  };
  // Every row is ids[o, o + 16) with targets ids[o + 1, o + 17) for some offset o.
  const Dataset& d = windows.dataset();
  for (std::int64_t row = 0; row < d.size(); ++row) {
    const std::int64_t* in = d.inputs.data<std::int64_t>() + row * 16;
    const std::int64_t* out = d.targets.data<std::int64_t>() + row * 16;
    bool found = false;
    for (std::size_t o = 0; o + 17 <= ids.size() && !found; ++o)
      found = std::equal(in, in + 16, ids.begin() + static_cast<std::ptrdiff_t>(o)) &&
              std::equal(out, out + 16, ids.begin() + static_cast<std::ptrdiff_t>(o) + 1);
    EXPECT_TRUE(found) << "row " << row;
  }
  const auto epoch0 = snapshot();
  windows.fill(1);
  const auto epoch1 = snapshot();
  EXPECT_NE(epoch0, epoch1);
  windows.fill(0);
  EXPECT_EQ(snapshot(), epoch0);
  TokenWindows again(tokens, 16, 5);
  again.fill(1);
  EXPECT_EQ(std::vector<std::int64_t>(again.dataset().inputs.data<std::int64_t>(),
                                      again.dataset().inputs.data<std::int64_t>() + again.dataset().inputs.numel()),
            epoch1);
  TokenWindows other_seed(tokens, 16, 6);
  EXPECT_NE(std::vector<std::int64_t>(other_seed.dataset().inputs.data<std::int64_t>(),
                                      other_seed.dataset().inputs.data<std::int64_t>() + other_seed.dataset().inputs.numel()),
            epoch0);
  EXPECT_THROW(TokenWindows(tokens, 500, 0), Error);
}

// Logits that make every next token equally likely: the score is log(V) per target.
class UniformModel : public Module {
 public:
  explicit UniformModel(std::int64_t vocab) : vocab_(vocab) {}
  std::string type_name() const override { return "UniformModel"; }
  using Module::forward;
  Tensor forward(const Tensor& tokens) override {
    ++calls;
    longest = std::max(longest, tokens.shape()[1]);
    return Tensor::zeros({tokens.shape()[0], tokens.shape()[1], vocab_});
  }
  std::int64_t calls = 0, longest = 0;

 private:
  std::int64_t vocab_;
};

TEST(ScoreTokenLm, ScoresEveryTargetOnceInBitsPerByte) {
  for (const std::int64_t n : {2, 3, 17, 64, 65, 100, 257}) {
    for (const std::int64_t context : {1, 4, 16, 64}) {
      for (const std::int64_t stride : {0, 1, 3}) {
        if (stride > std::min(context, n - 1)) continue;
        SCOPED_TRACE("n " + std::to_string(n) + " context " + std::to_string(context) + " stride " + std::to_string(stride));
        std::vector<std::int64_t> ids(static_cast<std::size_t>(n)), bytes(static_cast<std::size_t>(n));
        std::int64_t total_bytes = 0;
        for (std::int64_t i = 0; i < n; ++i) {
          ids[static_cast<std::size_t>(i)] = i % 10;
          bytes[static_cast<std::size_t>(i)] = 1 + i % 3;
          if (i > 0) total_bytes += 1 + i % 3;
        }
        UniformModel model(10);
        const LmScore s = score_token_lm(model, ids, bytes, context, stride, 4);
        EXPECT_EQ(s.tokens, n - 1);
        EXPECT_EQ(s.bytes, total_bytes);
        EXPECT_NEAR(s.nats, static_cast<double>(n - 1) * std::log(10.0), 1e-4 * static_cast<double>(n));
        EXPECT_NEAR(s.bits_per_token(), std::log2(10.0), 1e-5);
        EXPECT_NEAR(s.bits_per_byte(), static_cast<double>(n - 1) * std::log2(10.0) / static_cast<double>(total_bytes), 1e-5);
        EXPECT_LE(model.longest, context);
      }
    }
  }
  UniformModel model(10);
  EXPECT_THROW(score_token_lm(model, {1}, {1}, 4), Error);
  EXPECT_THROW(score_token_lm(model, {1, 2}, {1}, 4), Error);
}

TEST(ScoreCharLm, BitsPerByteCountsTheBytesOfTheCharactersScored) {
  std::string ascii, mixed;
  for (int i = 0; i < 300; ++i) ascii += "abc "[i % 4];
  for (int i = 0; i < 300; ++i) mixed += i % 3 == 0 ? "é" : "a";
  const CharVocab vocab = CharVocab::build(ascii + mixed);
  CharLM model(vocab, CharLMOptions{.embedding_dim = 4, .hidden_size = 8, .seed = 1});
  const LmScore a = score_char_lm(model, ascii);
  EXPECT_EQ(a.bytes, a.tokens);
  EXPECT_NEAR(a.bits_per_token(), bits_per_char(model, vocab.encode(ascii)), 1e-9);
  EXPECT_NEAR(a.bits_per_byte(), a.bits_per_token(), 1e-12);
  const LmScore m = score_char_lm(model, mixed);
  EXPECT_EQ(m.tokens, 256);  // 299 targets, one stream of 256-character windows
  std::int64_t expected_bytes = 0;
  for (int i = 1; i <= 256; ++i) expected_bytes += i % 3 == 0 ? 2 : 1;
  EXPECT_EQ(m.bytes, expected_bytes);
  EXPECT_NEAR(m.bits_per_byte(), m.bits_per_token() * 256.0 / static_cast<double>(expected_bytes), 1e-9);
}

}  // namespace
}  // namespace ouro::testing
