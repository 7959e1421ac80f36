#include "ouro/generation/generate_gpt.h"

#include <algorithm>
#include <cmath>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {
namespace {

struct ModeGuard {
  Module& model;
  bool was_training;
  ~ModeGuard() { model.train(was_training); }
};

// The logits of the last position of [1, T, V], as floats.
std::vector<float> last_logits(const Tensor& logits) {
  const std::int64_t T = logits.size(1), V = logits.size(2);
  return reshape(narrow(logits, 1, T - 1, 1), {V}).to_float_vector();
}

// How many bytes at the end of `text` are an incomplete UTF-8 character (a lead byte whose
// continuation bytes have not arrived yet); 0 when the text ends on a boundary or on bytes
// that can never complete (those are released as they are).
std::size_t incomplete_utf8_tail(const std::string& text) {
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// The longest k < stop.size() such that `text` ends with stop's first k bytes, over all stops.
std::size_t stop_prefix_tail(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t longest = 0;
  for (const std::string& stop : stops)
    for (std::size_t k = std::min(stop.size() - 1, text.size()); k > longest; --k)
      if (text.compare(text.size() - k, k, stop, 0, k) == 0) {
        longest = k;
        break;
      }
  return longest;
}

}  // namespace

void apply_repetition_penalty(float* logits, std::int64_t count, const std::vector<std::int64_t>& seen,
                              double penalty) {
  OURO_CHECK(std::isfinite(penalty) && penalty > 0, "repetition_penalty must be a finite number > 0, got ", penalty);
  if (penalty == 1.0) return;
  std::vector<bool> done(static_cast<std::size_t>(count), false);
  for (const std::int64_t id : seen) {
    OURO_CHECK(id >= 0 && id < count, "repetition_penalty: token id ", id, " outside [0, ", count, ")");
    if (done[static_cast<std::size_t>(id)]) continue;
    done[static_cast<std::size_t>(id)] = true;
    float& x = logits[id];
    x = x > 0 ? static_cast<float>(x / penalty) : static_cast<float>(x * penalty);
  }
}

GptGeneration generate_gpt(Gpt& model, const std::vector<std::int64_t>& prompt, const GptGenerateOptions& options,
                           const TokenDecoder& decode, const GptStreamCallback& on_token) {
  OURO_CHECK(options.max_new_tokens >= 0, "generate_gpt: max_new_tokens must be >= 0, got ", options.max_new_tokens);
  OURO_CHECK(std::isfinite(options.repetition_penalty) && options.repetition_penalty > 0,
             "generate_gpt: repetition_penalty must be a finite number > 0, got ", options.repetition_penalty);
  check_sampling_options(options.sampling);
  OURO_CHECK(!prompt.empty(), "generate_gpt: the prompt needs at least one token id (e.g. <|endoftext|>)");
  OURO_CHECK(options.stop.empty() || decode, "generate_gpt: stop sequences need a decoder");
  for (const std::string& stop : options.stop) OURO_CHECK(!stop.empty(), "generate_gpt: a stop sequence is empty");
  const GptConfig& config = model.config();
  for (const std::int64_t id : prompt)
    OURO_CHECK(id >= 0 && id < config.vocab_size, "generate_gpt: prompt token id ", id, " is outside the vocabulary [0, ",
               config.vocab_size, ")");

  ModeGuard guard{model, model.is_training()};
  model.eval();
  NoGradGuard no_grad;
  Generator gen(options.seed);
  const std::int64_t C = config.context;
  // When the sequence outgrows the context, the cached path re-prefills a window of the last
  // 3/4 context tokens and continues from there: GPT-2's positions are absolute (added to the
  // input), so cached keys cannot be shifted and the window must be recomputed. Re-prefilling
  // every C/4 steps keeps at least 3C/4 tokens of context at a cost of one prefill per C/4
  // tokens. The uncached path simply runs on the last C tokens every step.
  const std::int64_t window = std::max<std::int64_t>(1, C - C / 4);

  std::vector<std::int64_t> sequence = prompt;
  KvCache cache = model.make_cache();
  std::int64_t base = 0;     // the sequence position of the cache's first entry
  GptGeneration result;
  std::size_t released = 0;  // bytes of result.text handed to the callback
  bool stopped = false;

  for (std::int64_t step = 0; step < options.max_new_tokens && !stopped; ++step) {
    const auto n = static_cast<std::int64_t>(sequence.size());
    Tensor logits;
    if (options.use_cache) {
      if (n - base > C) {
        base = n - (step == 0 ? C : window);
        cache.reset();
      }
      const std::int64_t from = base + cache.length;  // the first position not yet in the cache
      const std::vector<std::int64_t> pending(sequence.begin() + from, sequence.end());
      logits = model.forward_cached(Tensor::from_indices(pending, {1, n - from}), cache);
    } else {
      const std::int64_t from = std::max<std::int64_t>(0, n - C);
      const std::vector<std::int64_t> window_ids(sequence.begin() + from, sequence.end());
      logits = model.forward(Tensor::from_indices(window_ids, {1, n - from}));
    }
    std::vector<float> next = last_logits(logits);
    apply_repetition_penalty(next.data(), config.vocab_size, sequence, options.repetition_penalty);
    const std::int64_t id = sample_token(next.data(), config.vocab_size, options.sampling, gen);
    sequence.push_back(id);
    result.tokens.push_back(id);
    if (!decode) {
      if (on_token && !on_token(id, std::string_view())) {
        result.reason = GptStopReason::Callback;
        stopped = true;
      }
      continue;
    }

    std::string& text = result.text;
    const std::size_t old_size = text.size();
    text += decode({id});
    // The earliest stop sequence that the new text completes.
    std::size_t cut = std::string::npos;
    for (const std::string& stop : options.stop) {
      const std::size_t from = old_size >= stop.size() - 1 ? old_size - (stop.size() - 1) : 0;
      cut = std::min(cut, text.find(stop, from));
    }
    std::size_t end;
    if (cut != std::string::npos) {
      text.resize(cut);
      end = cut;
      result.reason = GptStopReason::StopSequence;
      stopped = true;
    } else {
      end = text.size() - std::max(stop_prefix_tail(text, options.stop), incomplete_utf8_tail(text));
    }
    std::string_view piece;
    if (end > released) {
      piece = std::string_view(text).substr(released, end - released);
      released = end;
    }
    if (on_token && !on_token(id, piece) && !stopped) {
      result.reason = GptStopReason::Callback;
      stopped = true;
    }
  }
  if (on_token && decode && released < result.text.size() && result.reason != GptStopReason::Callback)
    on_token(-1, std::string_view(result.text).substr(released));
  return result;
}

}  // namespace ouro
