// Character-level LSTM language model on real text (the "Text" task): English
// fortunes to under 3.0 bits per character with mostly real words in its samples, and the
// same code on the Tang poems of fortunes-zh producing Chinese. Seeded; one thread under ctest.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "ouro/data/utf8.h"
#include "ouro/generation/generate.h"
#include "ouro/optim/adam.h"
#include "ouro/train/char_lm_task.h"
#include "ouro/train/trainer.h"

namespace ouro::testing {
namespace {

// Entropy in bits of the characters' frequency distribution: what a model that ignores
// context scores at best.
double unigram_entropy_bits(const std::vector<std::int64_t>& ids) {
  std::map<std::int64_t, double> counts;
  for (std::int64_t id : ids) counts[id] += 1;
  double h = 0;
  const auto n = static_cast<double>(ids.size());
  for (const auto& [id, c] : counts) h -= c / n * std::log2(c / n);
  return h;
}

struct TrainedLm {
  CharLMData data;
  std::shared_ptr<CharLM> model;
  double bpc = 0, seconds = 0;
};

TrainedLm train(const std::string& corpus, std::int64_t hidden, std::int64_t window, std::int64_t batch,
          std::int64_t steps, double lr) {
  const auto start = std::chrono::steady_clock::now();
  TrainedLm run;
  run.data = prepare_char_lm_data({.corpus = corpus, .split_seed = 7, .window = window, .batch_size = batch});
  run.model = std::make_shared<CharLM>(
      run.data.vocab, CharLMOptions{.embedding_dim = 32, .hidden_size = hidden, .num_layers = 1, .stateful = true, .seed = 7});
  manual_seed(7);
  Trainer trainer(run.model);
  trainer.compile({.optimizer = std::make_shared<Adam>(run.model->parameters(), AdamOptions{.lr = lr}),
                   .loss = "sparse_categorical_crossentropy"});
  FitOptions fit = char_lm_fit_options(run.data, *run.model, /*validate=*/false);  // scored once at the end, with full context
  fit.epochs = 1000;
  fit.max_steps = steps;
  fit.clip_grad_norm = 1.0;
  fit.seed = 7;
  fit.verbose = Verbosity::Silent;
  trainer.fit(run.data.train, fit);
  run.bpc = bits_per_char(*run.model, run.data.validation_ids);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) || (c == '\'' && !word.empty())) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(word);
  return words;
}

TEST(CharLmIntegration, EnglishFortunesUnderThreeBitsPerCharWithRealWords) {
  TrainedLm run = train("fortunes", /*hidden=*/128, /*window=*/64, /*batch=*/32, /*steps=*/600, /*lr=*/0.01);
  const double entropy = unigram_entropy_bits(run.data.train_ids);
  std::printf("fortunes: %zu training characters, vocabulary %lld, unigram entropy %.3f bits/char; "
              "after 600 steps (%.1f s): validation %.3f bits/char\n",
              run.data.train_ids.size(), static_cast<long long>(run.data.vocab.size()), entropy, run.seconds, run.bpc);
  // The issue quotes "about 4.3"; this corpus, with its capitals, punctuation, tabs and
  // newlines kept, measures 4.78 (letters and space alone would be near 4.1).
  EXPECT_GT(entropy, 4.3);
  EXPECT_LT(entropy, 5.0);
  EXPECT_LT(run.bpc, 3.0);

  // Samples: most words must be words of the training text.
  std::set<std::string> vocabulary;
  for (const std::string& w : words_of(run.data.vocab.decode(run.data.train_ids))) vocabulary.insert(w);
  std::string streamed;
  const std::string sample = generate_text(*run.model, "The ", {.max_tokens = 1500, .sampling = {.temperature = 0.7, .top_k = 10}, .seed = 3},
                                           [&](const std::string& piece) {
                                             streamed += piece;
                                             return true;
                                           });
  EXPECT_EQ(streamed, sample);
  const auto words = words_of(sample);
  std::size_t real = 0;
  for (const auto& w : words) real += vocabulary.count(w);
  const double fraction = words.empty() ? 0.0 : static_cast<double>(real) / static_cast<double>(words.size());
  std::printf("sample (%zu words, %.0f%% in the training text):\nThe %s\n", words.size(), 100 * fraction,
              sample.substr(0, 600).c_str());
  EXPECT_GE(words.size(), 150u);
  EXPECT_GE(fraction, 0.5);
}

TEST(CharLmIntegration, TangPoemsTrainAndGenerateChinese) {
  TrainedLm run = train("tang300", /*hidden=*/128, /*window=*/32, /*batch=*/16, /*steps=*/250, /*lr=*/0.01);
  const double entropy = unigram_entropy_bits(run.data.train_ids);
  std::printf("tang300: %zu training characters, vocabulary %lld, unigram entropy %.3f bits/char; "
              "after 250 steps (%.1f s): validation %.3f bits/char\n",
              run.data.train_ids.size(), static_cast<long long>(run.data.vocab.size()), entropy, run.seconds, run.bpc);
  // One id per character: the vocabulary holds thousands of distinct Chinese characters.
  EXPECT_GT(run.data.vocab.size(), 2000);
  // Tang poems are short and their characters varied: beating the unigram model at all on
  // unseen poems shows the model learned their structure (line lengths, punctuation).
  EXPECT_LT(run.bpc, entropy - 0.5);

  const std::string sample = generate_text(*run.model, "", {.max_tokens = 200, .sampling = {.temperature = 0.8, .top_k = 20}, .seed = 5});
  std::printf("sample:\n%s\n", sample.c_str());
  EXPECT_TRUE(utf8::is_valid(sample));
  std::size_t han = 0, total = 0;
  for (char32_t c : utf8::decode(sample)) {
    ++total;
    if (c >= 0x4E00 && c <= 0x9FFF) ++han;
  }
  EXPECT_EQ(total, 200u);  // 200 tokens are 200 characters
  EXPECT_GE(han, total / 2);
  // Poems' lines end in Chinese punctuation, which the model must have learned to place.
  EXPECT_NE(sample.find("，"), std::string::npos);
}

}  // namespace
}  // namespace ouro::testing
