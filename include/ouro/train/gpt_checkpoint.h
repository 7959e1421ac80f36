// Loading a Gpt for inference or fine-tuning from a file: an ouro checkpoint (its
// "model_config" metadata rebuilds the model) or a Hugging Face GPT-2 safetensors file
// (model.safetensors of GPT2Model / GPT2LMHeadModel; see nn/gpt_hf.h for the conversion).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ouro/nn/gpt.h"

namespace ouro {

// Tells the two formats apart by their tensor names ("model.wte.weight" in an ouro checkpoint,
// "wte.weight" or "transformer.wte.weight" in Hugging Face's). A Hugging Face file does not
// record the head count: pass `hf_heads`, or leave it 0 to read "n_head" from the config.json
// beside the file (as the hub ships them). Errors name the file and what is missing.
std::shared_ptr<Gpt> load_gpt(const std::string& path, std::int64_t hf_heads = 0);

}  // namespace ouro
