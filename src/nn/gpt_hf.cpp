#include "ouro/nn/gpt_hf.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "ouro/core/error.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {
namespace {

const std::string kPrefix = "transformer.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip_prefix(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

// The causal-mask buffers older transformers versions saved with the weights.
bool is_mask_buffer(const std::string& name) { return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"); }

bool is_conv1d_weight(const std::string& name) {
  return ends_with(name, ".attn.c_attn.weight") || ends_with(name, ".attn.c_proj.weight") ||
         ends_with(name, ".mlp.c_fc.weight") || ends_with(name, ".mlp.c_proj.weight");
}

const Tensor& find(const StateDict& hf, const std::string& name) {
  auto it = hf.find(name);
  if (it == hf.end()) it = hf.find(kPrefix + name);
  OURO_CHECK(it != hf.end(), "gpt_from_hf: the state has no '", name, "' (nor '", kPrefix, name,
             "'); is it a GPT-2 checkpoint?");
  return it->second;
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  return x == y;
}

}  // namespace

GptConfig gpt_config_from_hf(const StateDict& hf, std::int64_t heads) {
  const Tensor& wte = find(hf, "wte.weight");
  const Tensor& wpe = find(hf, "wpe.weight");
  OURO_CHECK(wte.dim() == 2 && wpe.dim() == 2 && wte.size(1) == wpe.size(1),
             "gpt_from_hf: expected wte.weight [vocab, width] and wpe.weight [context, width], got ",
             shape_str(wte.shape()), " and ", shape_str(wpe.shape()));
  GptConfig config;
  config.vocab_size = wte.size(0);
  config.width = wte.size(1);
  config.context = wpe.size(0);
  config.heads = heads;
  std::int64_t layers = 0;
  static const std::regex block(R"(^(?:transformer\.)?h\.(\d+)\..*)");
  for (const auto& [name, tensor] : hf) {
    std::smatch m;
    if (std::regex_match(name, m, block)) layers = std::max<std::int64_t>(layers, std::stoll(m[1].str()) + 1);
  }
  OURO_CHECK(layers > 0, "gpt_from_hf: the state has no blocks h.<i>.*");
  config.layers = layers;
  const Tensor& c_fc = find(hf, "h.0.mlp.c_fc.weight");
  OURO_CHECK(c_fc.dim() == 2 && c_fc.size(0) == config.width && c_fc.size(1) % config.width == 0,
             "gpt_from_hf: expected h.0.mlp.c_fc.weight as Conv1D [", config.width, ", k * ", config.width, "], got ",
             shape_str(c_fc.shape()));
  config.mlp_ratio = c_fc.size(1) / config.width;
  auto head = hf.find("lm_head.weight");
  config.tied_head = head == hf.end() || same_values(head->second, wte);
  config.gelu = GeluApproximation::Tanh;
  config.layer_norm_eps = 1e-5;
  config.validate();
  return config;
}

StateDict gpt_state_from_hf(const StateDict& hf, const GptConfig& config) {
  StateDict out;
  for (const auto& [raw_name, tensor] : hf) {
    const std::string name = strip_prefix(raw_name);
    if (is_mask_buffer(name)) continue;
    if (name == "lm_head.weight" && config.tied_head) {
      OURO_CHECK(same_values(tensor, find(hf, "wte.weight")),
                 "gpt_from_hf: lm_head.weight differs from wte.weight but the config ties the head");
      continue;
    }
    OURO_CHECK(out.find(name) == out.end(), "gpt_from_hf: '", name, "' appears both with and without the '",
               kPrefix, "' prefix");
    if (is_conv1d_weight(name)) {
      OURO_CHECK(tensor.dim() == 2, "gpt_from_hf: '", raw_name, "' should be a Conv1D weight [in, out], got ",
                 shape_str(tensor.shape()));
      out[name] = contiguous(transpose(tensor, 0, 1));
    } else {
      out[name] = tensor;
    }
  }
  return out;
}

std::shared_ptr<Gpt> gpt_from_hf(const StateDict& hf, std::int64_t heads) {
  const GptConfig config = gpt_config_from_hf(hf, heads);
  auto model = std::make_shared<Gpt>(config);
  model->load_state_dict(gpt_state_from_hf(hf, config));
  return model;
}

}  // namespace ouro
