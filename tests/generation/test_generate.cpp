// generate_text: seeded and reproducible, streamed piece by piece, stoppable, greedy at
// temperature 0, and it leaves the model as it found it.
#include <gtest/gtest.h>

#include "ouro/core/error.h"
#include "ouro/data/utf8.h"
#include "ouro/generation/generate.h"

namespace ouro::testing {
namespace {

std::shared_ptr<CharLM> tiny_model() {
  return std::make_shared<CharLM>(CharVocab::build("abc 世界\n%"),
                                  CharLMOptions{.embedding_dim = 4, .hidden_size = 8, .num_layers = 2, .dropout = 0.2, .seed = 4});
}

TEST(Generate, SeededStreamedAndStoppable) {
  auto model = tiny_model();
  const GenerateOptions options{.max_tokens = 40, .sampling = {.temperature = 1.0, .top_k = 5}, .seed = 11};
  std::vector<std::string> pieces;
  const std::string text = generate_text(*model, "ab", options, [&](const std::string& piece) {
    pieces.push_back(piece);
    return true;
  });
  EXPECT_EQ(pieces.size(), 40u);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, text);
  EXPECT_TRUE(utf8::is_valid(text));
  EXPECT_EQ(utf8::decode(text).size(), 40u);
  EXPECT_EQ(generate_text(*model, "ab", options), text);  // same seed, same text
  EXPECT_TRUE(model->is_training());                       // mode restored

  int calls = 0;
  const std::string stopped = generate_text(*model, "ab", options, [&](const std::string&) { return ++calls < 5; });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(stopped, text.substr(0, stopped.size()));
  EXPECT_EQ(utf8::decode(stopped).size(), 5u);
}

TEST(Generate, GreedyIgnoresTheSeedAndBadOptionsThrow) {
  auto model = tiny_model();
  const std::string a = generate_text(*model, "", {.max_tokens = 20, .sampling = {.temperature = 0}, .seed = 1});
  const std::string b = generate_text(*model, "", {.max_tokens = 20, .sampling = {.temperature = 0}, .seed = 2});
  EXPECT_EQ(a, b);
  EXPECT_EQ(generate_text(*model, "a", {.max_tokens = 0}), "");
  EXPECT_THROW(generate_text(*model, "a", {.max_tokens = -1}), Error);
  EXPECT_THROW(generate_text(*model, "a", {.sampling = {.top_p = 2.0}}), Error);
}

}  // namespace
}  // namespace ouro::testing
