// Text generation from a CharLM: the prompt sets the recurrent state in one pass, then one
// character per step (state carried, never recomputed), each streamed to a callback as soon
// as it is sampled.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "ouro/generation/sampling.h"
#include "ouro/nn/char_lm.h"

namespace ouro {

struct GenerateOptions {
  std::int64_t max_tokens = 200;  // characters to generate (>= 0)
  SamplingOptions sampling{};
  std::uint64_t seed = 0;  // the sampler's Generator: same model, prompt, options and seed -> same text
};

// Receives each generated character's UTF-8 text; returning false stops generation.
using TokenCallback = std::function<bool(const std::string& piece)>;

// The generated text (without the prompt). An empty prompt starts a new entry: the model is
// primed with the entry separator "%\n" (see join_entries), which is not echoed. Runs in eval
// mode without a graph; the model's mode and carried training state are left as they were.
std::string generate_text(CharLM& model, const std::string& prompt, const GenerateOptions& options = {},
                          const TokenCallback& on_token = {});

}  // namespace ouro
