#include "ouro/generation/generate.h"

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {
namespace {

// Restores the train/eval mode on every exit path, exceptions included.
struct ModeGuard {
  Module& model;
  bool was_training;
  ~ModeGuard() { model.train(was_training); }
};

}  // namespace

std::string generate_text(CharLM& model, const std::string& prompt, const GenerateOptions& options,
                          const TokenCallback& on_token) {
  OURO_CHECK(options.max_tokens >= 0, "generate: max_tokens must be >= 0, got ", options.max_tokens);
  check_sampling_options(options.sampling);
  const CharVocab& vocab = model.vocab();
  std::vector<std::int64_t> context = vocab.encode(prompt.empty() ? std::string("%\n") : prompt);
  ModeGuard guard{model, model.is_training()};
  model.eval();
  NoGradGuard no_grad;
  Generator gen(options.seed);
  const auto n = static_cast<std::int64_t>(context.size());
  RecurrentOutput out = model.forward_with_state(Tensor::from_indices(context, {1, n}), RecurrentState{});
  std::string text;
  for (std::int64_t step = 0; step < options.max_tokens; ++step) {
    // The logits of the last position, [V], contiguous.
    const std::int64_t steps = out.output.size(1);
    const Tensor last = contiguous(reshape(narrow(out.output, 1, steps - 1, 1), {vocab.size()}));
    const std::int64_t id = sample_token(last, options.sampling, gen);
    const std::string piece = vocab.decode_one(id);
    text += piece;
    if (on_token && !on_token(piece)) break;
    if (step + 1 == options.max_tokens) break;
    out = model.forward_with_state(Tensor::from_indices({id}, {1, 1}), out.state);
  }
  return text;
}

}  // namespace ouro
