// generate_gpt: each sampling option's defined behaviour, checked against logits recomputed
// independently with the full forward; cache on and off agree; stop sequences, streaming,
// the sliding window past the context, seeds and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gradcheck.h"
#include "ouro/generation/generate_gpt.h"
#include "ouro/ops/shape_ops.h"

namespace ouro::testing {
namespace {

constexpr std::int64_t kVocab = 16, kContext = 16;

std::shared_ptr<Gpt> small_model(std::uint64_t seed = 1) {
  GptConfig c;
  c.vocab_size = kVocab;
  c.context = kContext;
  c.width = 16;
  c.layers = 2;
  c.heads = 2;
  c.seed = seed;
  auto model = std::make_shared<Gpt>(c);
  // Weights larger than the init's, so that the next-token distributions are far from uniform.
  Generator gen(seed + 100);
  for (Tensor& p : model->parameters()) normal_(p, 0.0, 0.4, &gen);
  return model;
}

// 'a' + id: a concatenative decoder, as the byte and character tokenizers are.
std::string letters(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += static_cast<char>('a' + id);
  return s;
}

// The logits of the next token after `sequence`, from the full forward over its last
// `context` tokens.
std::vector<float> next_logits(Gpt& model, const std::vector<std::int64_t>& sequence, std::int64_t from = -1) {
  NoGradGuard no_grad;
  const auto n = static_cast<std::int64_t>(sequence.size());
  if (from < 0) from = std::max<std::int64_t>(0, n - kContext);
  const std::vector<std::int64_t> ids(sequence.begin() + from, sequence.end());
  const Tensor logits = model.forward(Tensor::from_indices(ids, {1, n - from}));
  return reshape(narrow(logits, 1, n - from - 1, 1), {kVocab}).to_float_vector();
}

std::int64_t argmax(const std::vector<float>& v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

// Replays a generation: calls check(sequence before the token, token) for each generated token.
template <typename Check>
void replay(const std::vector<std::int64_t>& prompt, const std::vector<std::int64_t>& tokens, Check check) {
  std::vector<std::int64_t> sequence = prompt;
  for (auto id : tokens) {
    check(sequence, id);
    sequence.push_back(id);
  }
}

TEST(GenerateGpt, GreedyPicksTheArgmaxOfTheFullForwardWithAndWithoutCache) {
  auto model = small_model();
  model->eval();
  const std::vector<std::int64_t> prompt{3, 1, 4};
  GptGenerateOptions options;
  options.max_new_tokens = 10;
  options.sampling.temperature = 0;
  const GptGeneration cached = generate_gpt(*model, prompt, options);
  options.use_cache = false;
  const GptGeneration uncached = generate_gpt(*model, prompt, options);
  ASSERT_EQ(cached.tokens.size(), 10u);
  EXPECT_EQ(cached.tokens, uncached.tokens);
  EXPECT_EQ(cached.reason, GptStopReason::MaxTokens);
  replay(prompt, cached.tokens, [&](const auto& seq, std::int64_t id) { EXPECT_EQ(id, argmax(next_logits(*model, seq))); });
}

TEST(GenerateGpt, SeededSamplingIsDeterministicAndTheSameWithAndWithoutCache) {
  auto model = small_model();
  GptGenerateOptions options;
  options.max_new_tokens = 12;
  options.sampling.temperature = 1.0;
  options.seed = 42;
  const auto a = generate_gpt(*model, {0}, options).tokens;
  EXPECT_EQ(a, generate_gpt(*model, {0}, options).tokens);
  options.use_cache = false;
  EXPECT_EQ(a, generate_gpt(*model, {0}, options).tokens);
  options.use_cache = true;
  options.seed = 43;
  EXPECT_NE(a, generate_gpt(*model, {0}, options).tokens);
  EXPECT_TRUE(model->is_training());  // the mode is restored
}

TEST(GenerateGpt, TopKOneAndTinyTopPAreGreedy) {
  auto model = small_model(2);
  GptGenerateOptions greedy;
  greedy.max_new_tokens = 8;
  greedy.sampling.temperature = 0;
  const auto expected = generate_gpt(*model, {5, 6}, greedy).tokens;
  GptGenerateOptions k1 = greedy;
  k1.sampling = SamplingOptions{.temperature = 1.5, .top_k = 1};
  EXPECT_EQ(generate_gpt(*model, {5, 6}, k1).tokens, expected);
  GptGenerateOptions p0 = greedy;
  p0.sampling = SamplingOptions{.temperature = 1.5, .top_p = 1e-9};
  EXPECT_EQ(generate_gpt(*model, {5, 6}, p0).tokens, expected);
  // Temperature divides the logits: near 0 the distribution collapses onto the argmax.
  GptGenerateOptions cold = greedy;
  cold.sampling = SamplingOptions{.temperature = 1e-4};
  cold.seed = 77;
  EXPECT_EQ(generate_gpt(*model, {5, 6}, cold).tokens, expected);
  GptGenerateOptions hot = cold;
  hot.sampling.temperature = 5.0;
  EXPECT_NE(generate_gpt(*model, {5, 6}, hot).tokens, expected);
}

TEST(GenerateGpt, TopKAndTopPSampleOnlyFromTheirSets) {
  auto model = small_model(3);
  const std::vector<std::int64_t> prompt{1, 2};
  GptGenerateOptions options;
  options.max_new_tokens = 14;
  options.sampling = SamplingOptions{.temperature = 2.0, .top_k = 3};
  options.seed = 9;
  const auto topk = generate_gpt(*model, prompt, options).tokens;
  replay(prompt, topk, [&](const auto& seq, std::int64_t id) {
    const auto logits = next_logits(*model, seq);
    const auto above = std::count_if(logits.begin(), logits.end(), [&](float x) { return x > logits[id]; });
    EXPECT_LT(above, 3) << "token " << id << " is not among the 3 most likely";
  });

  options.sampling = SamplingOptions{.temperature = 1.0, .top_p = 0.5};
  const auto topp = generate_gpt(*model, prompt, options).tokens;
  EXPECT_NE(topp, topk);
  replay(prompt, topp, [&](const auto& seq, std::int64_t id) {
    // The nucleus: tokens by decreasing probability until the mass reaches 0.5; the sampled
    // token must be among them, i.e. the tokens strictly more likely hold less than 0.5.
    const auto logits = next_logits(*model, seq);
    const float top = *std::max_element(logits.begin(), logits.end());
    double total = 0, before = 0;
    for (float x : logits) total += std::exp(double(x) - top);
    for (float x : logits)
      if (x > logits[id]) before += std::exp(double(x) - top) / total;
    EXPECT_LT(before, 0.5) << "token " << id << " lies outside the top-p 0.5 nucleus";
  });
}

TEST(GenerateGpt, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce) {
  std::vector<float> logits{2.0f, -1.0f, 0.5f, 3.0f, -4.0f};
  apply_repetition_penalty(logits.data(), 5, {0, 1, 1, 4, 0}, 2.0);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f, -8.0f}));
  std::vector<float> same{1.0f, -1.0f};
  apply_repetition_penalty(same.data(), 2, {0, 1}, 1.0);
  EXPECT_EQ(same, (std::vector<float>{1.0f, -1.0f}));
  expect_error([&] { apply_repetition_penalty(same.data(), 2, {2}, 1.5); }, {"token id 2"});

  // In generation: greedy over the penalised logits of the prompt and everything generated.
  auto model = small_model(4);
  const std::vector<std::int64_t> prompt{7, 7, 8};
  GptGenerateOptions options;
  options.max_new_tokens = 12;
  options.sampling.temperature = 0;
  options.repetition_penalty = 1.8;
  const auto tokens = generate_gpt(*model, prompt, options).tokens;
  replay(prompt, tokens, [&](const auto& seq, std::int64_t id) {
    auto logits = next_logits(*model, seq);
    apply_repetition_penalty(logits.data(), kVocab, seq, 1.8);
    EXPECT_EQ(id, argmax(logits));
  });
  options.repetition_penalty = 1.0;
  EXPECT_NE(tokens, generate_gpt(*model, prompt, options).tokens);
}

TEST(GenerateGpt, StopSequencesCutTheTextAndStreamingNeverShowsThem) {
  auto model = small_model(5);
  GptGenerateOptions options;
  options.max_new_tokens = 15;
  options.sampling.temperature = 0;
  const GptGeneration full = generate_gpt(*model, {2}, options, letters);
  ASSERT_EQ(full.text, letters(full.tokens));
  // Stop at the two letters generated 6th and 7th: the text ends before their first occurrence.
  const std::string stop = full.text.substr(5, 2);
  const std::size_t first = full.text.find(stop);
  options.stop = {"this never appears", stop};
  std::string streamed;
  std::vector<std::int64_t> streamed_ids;
  const GptGeneration cut = generate_gpt(*model, {2}, options, letters, [&](std::int64_t id, std::string_view text) {
    if (id >= 0) streamed_ids.push_back(id);
    streamed += text;
    return true;
  });
  EXPECT_EQ(cut.reason, GptStopReason::StopSequence);
  EXPECT_EQ(cut.text, full.text.substr(0, first));
  EXPECT_EQ(streamed, cut.text);
  EXPECT_EQ(cut.tokens.size(), first + 2);  // the token that completed the stop is generated
  EXPECT_EQ(streamed_ids, cut.tokens);

  // A stop sequence that only starts to match is held back while it might complete, then
  // released: the streamed text is the whole text.
  options.stop = {full.text.substr(3, 1) + "#"};
  streamed.clear();
  const GptGeneration none = generate_gpt(*model, {2}, options, letters, [&](std::int64_t, std::string_view text) {
    streamed += text;
    return true;
  });
  EXPECT_EQ(none.reason, GptStopReason::MaxTokens);
  EXPECT_EQ(none.text, full.text);
  EXPECT_EQ(streamed, full.text);
}

TEST(GenerateGpt, TheCallbackStopsGeneration) {
  auto model = small_model();
  GptGenerateOptions options;
  options.max_new_tokens = 50;
  int calls = 0;
  const GptGeneration g = generate_gpt(*model, {1}, options, {}, [&](std::int64_t, std::string_view text) {
    EXPECT_TRUE(text.empty());  // no decoder, no text
    return ++calls < 3;
  });
  EXPECT_EQ(g.tokens.size(), 3u);
  EXPECT_EQ(g.reason, GptStopReason::Callback);
}

TEST(GenerateGpt, ContextsLongerThanTheModelsSlide) {
  auto model = small_model(6);
  std::vector<std::int64_t> prompt(20);
  std::iota(prompt.begin(), prompt.end(), 0);
  for (auto& id : prompt) id %= kVocab;
  GptGenerateOptions options;
  options.max_new_tokens = 30;  // well past two re-prefills of the cache
  options.sampling.temperature = 0;
  options.use_cache = false;
  const auto uncached = generate_gpt(*model, prompt, options);
  options.use_cache = true;
  const auto cached = generate_gpt(*model, prompt, options);
  ASSERT_EQ(cached.tokens.size(), 30u);
  ASSERT_EQ(uncached.tokens.size(), 30u);
  // Uncached: every step sees the last `context` tokens.
  replay(prompt, uncached.tokens, [&](const auto& seq, std::int64_t id) { EXPECT_EQ(id, argmax(next_logits(*model, seq))); });
  // Cached: the window starts at the last `context` tokens of the prompt and, whenever it is
  // full, restarts with the last 3/4 context tokens (see generate_gpt.cpp).
  std::int64_t base = 0;
  bool first = true;
  replay(prompt, cached.tokens, [&](const auto& seq, std::int64_t id) {
    const auto n = static_cast<std::int64_t>(seq.size());
    if (n - base > kContext) base = n - (first ? kContext : kContext - kContext / 4);
    first = false;
    EXPECT_EQ(id, argmax(next_logits(*model, seq, base)));
  });
}

TEST(GenerateGpt, ErrorsNameTheOption) {
  auto model = small_model();
  GptGenerateOptions options;
  expect_error([&] { generate_gpt(*model, {}, options); }, {"prompt", "at least one token"});
  expect_error([&] { generate_gpt(*model, {16}, options); }, {"prompt token id 16", "[0, 16)"});
  options.stop = {"x"};
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"stop sequences need a decoder"});
  options.stop = {""};
  expect_error([&] { generate_gpt(*model, {1}, options, letters); }, {"stop sequence is empty"});
  options.stop = {};
  options.repetition_penalty = 0;
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"repetition_penalty"});
  options.repetition_penalty = 1;
  options.sampling.top_p = 0;
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"top_p"});
}

TEST(GenerateGpt, ExtremeOptionsAreErrorsOrDefined) {
  auto model = small_model();
  GptGenerateOptions options;
  options.repetition_penalty = INFINITY;
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"repetition_penalty", "finite", "inf"});
  options.repetition_penalty = 1;
  options.max_new_tokens = -1;
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"max_new_tokens", ">= 0", "-1"});
  options.sampling.temperature = -0.5;
  options.max_new_tokens = 1;
  expect_error([&] { generate_gpt(*model, {1}, options); }, {"temperature", ">= 0"});
  expect_error([&] { generate_gpt(*model, {-1}, GptGenerateOptions{}); }, {"prompt token id -1"});
  // Zero new tokens: nothing generated, nothing called.
  options = GptGenerateOptions{};
  options.max_new_tokens = 0;
  EXPECT_TRUE(generate_gpt(*model, {1, 2}, options).tokens.empty());
  // top_k past the vocabulary samples as top_k = 0 does.
  options.max_new_tokens = 5;
  options.seed = 4;
  const auto unlimited = generate_gpt(*model, {1}, options);
  options.sampling.top_k = 1000;
  EXPECT_EQ(generate_gpt(*model, {1}, options).tokens, unlimited.tokens);
}

}  // namespace
}  // namespace ouro::testing
