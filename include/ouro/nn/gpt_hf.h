// Weights in Hugging Face's GPT-2 layout (GPT2Model / GPT2LMHeadModel state dicts, e.g. a
// model.safetensors of the hub) converted to ouro's Gpt: the optional "transformer." prefix
// stripped, the causal-mask buffers dropped, and Conv1D weights ([in, out], y = x W + b)
// transposed to Linear's [out, in].
#pragma once
#include <cstdint>

#include "ouro/nn/gpt.h"

namespace ouro {

// The architecture a Hugging Face GPT-2 state implies: vocab_size and width from wte, context
// from wpe, layers from the h.<i> blocks, mlp_ratio from c_fc, tied_head false only when an
// lm_head.weight differs from wte. The head count is not in the tensors: pass it (GPT-2 small
// has 12). GELU tanh and layer_norm_eps 1e-5 as GPT-2; dropout 0.
GptConfig gpt_config_from_hf(const StateDict& hf, std::int64_t heads);

// ouro's state dict for `config` from a Hugging Face GPT-2 state. Errors name the tensor:
// a missing or mis-shaped one, or one this layout does not know.
StateDict gpt_state_from_hf(const StateDict& hf, const GptConfig& config);

// Builds the model of gpt_config_from_hf and loads the converted weights into it.
std::shared_ptr<Gpt> gpt_from_hf(const StateDict& hf, std::int64_t heads);

}  // namespace ouro
