// Text generation from a Gpt: the prompt is prefilled into a KV cache in one pass, then each
// new token costs one single-position step (or, with the cache off, a re-run of the whole
// window, for comparison). Greedy, temperature, top-k, top-p, repetition penalty, stop
// sequences on the decoded text, a seed, and streaming through a callback.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/generation/sampling.h"
#include "ouro/nn/gpt.h"

namespace ouro {

struct GptGenerateOptions {
  std::int64_t max_new_tokens = 200;  // >= 0
  SamplingOptions sampling{};         // temperature (0: greedy), top_k, top_p
  // > 0; 1 is off. CTRL's penalty (Keskar et al. 2019) as Hugging Face applies it: for every
  // distinct id in the prompt and the generated tokens, a positive logit is divided by it and
  // a negative one multiplied, before temperature, top-k and top-p.
  double repetition_penalty = 1.0;
  // Generation ends as soon as the decoded text contains one of these; the returned and
  // streamed text stops just before it. Needs a decoder. Empty strings are an error.
  std::vector<std::string> stop;
  std::uint64_t seed = 0;  // the sampler's Generator: same model, prompt, options, seed -> same tokens
  bool use_cache = true;   // false: each step re-runs the model over the whole window
};

// Token ids -> text. Must be concatenative: decode(a ++ b) == decode(a) + decode(b), which
// byte-level, character-level and GPT-2 byte-level BPE tokenizers all are; the generator
// decodes one token at a time. E.g. [&](auto& ids) { return tokenizer.decode(ids); }.
using TokenDecoder = std::function<std::string(const std::vector<std::int64_t>& ids)>;

// Called once per generated token with its id and the text that became final with it: text
// that might still turn out to begin a stop sequence, or an incomplete UTF-8 character, is
// held back until it is resolved, so `text` may be empty for one token and span several for
// another. Once at the end, any text still held back arrives with token -1. Returning false
// stops generation. Without a decoder `text` is always empty.
using GptStreamCallback = std::function<bool(std::int64_t token, std::string_view text)>;

enum class GptStopReason { MaxTokens, StopSequence, Callback };

struct GptGeneration {
  std::vector<std::int64_t> tokens;  // the generated ids (without the prompt), the one that completed a stop sequence included
  std::string text;                  // their decoded text, cut before the stop sequence (empty without a decoder)
  GptStopReason reason = GptStopReason::MaxTokens;
};

// Generates after `prompt` (at least one id; a GPT-2 model would start a new text from
// <|endoftext|>). Runs in eval mode without a graph; the model's mode is restored. Contexts
// longer than the model's slide: see generate_gpt.cpp.
GptGeneration generate_gpt(Gpt& model, const std::vector<std::int64_t>& prompt, const GptGenerateOptions& options = {},
                           const TokenDecoder& decode = {}, const GptStreamCallback& on_token = {});

// In place on logits[0..count) as GptGenerateOptions::repetition_penalty describes, for the
// ids in `seen` (duplicates count once).
void apply_repetition_penalty(float* logits, std::int64_t count, const std::vector<std::int64_t>& seen, double penalty);

}  // namespace ouro
