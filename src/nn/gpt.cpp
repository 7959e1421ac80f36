#include "ouro/nn/gpt.h"

#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/attention.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/linear.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/tensor/init.h"

namespace ouro {

// ---------------------------------------------------------------- config

void GptConfig::validate() const {
  OURO_CHECK(vocab_size > 0, "GptConfig: vocab_size must be positive, got ", vocab_size);
  OURO_CHECK(context > 0, "GptConfig: context must be positive, got ", context);
  OURO_CHECK(width > 0, "GptConfig: width must be positive, got ", width);
  OURO_CHECK(layers > 0, "GptConfig: layers must be positive, got ", layers);
  OURO_CHECK(heads > 0, "GptConfig: heads must be positive, got ", heads);
  OURO_CHECK(width % heads == 0, "GptConfig: heads (", heads, ") must divide width (", width, ")");
  OURO_CHECK(mlp_ratio > 0, "GptConfig: mlp_ratio must be positive, got ", mlp_ratio);
  OURO_CHECK(dropout_embd >= 0 && dropout_embd < 1, "GptConfig: dropout_embd must lie in [0, 1), got ", dropout_embd);
  OURO_CHECK(dropout_attn >= 0 && dropout_attn < 1, "GptConfig: dropout_attn must lie in [0, 1), got ", dropout_attn);
  OURO_CHECK(dropout_resid >= 0 && dropout_resid < 1, "GptConfig: dropout_resid must lie in [0, 1), got ",
             dropout_resid);
  OURO_CHECK(layer_norm_eps > 0, "GptConfig: layer_norm_eps must be positive, got ", layer_norm_eps);
  OURO_CHECK(dtype == DType::Float32 || dtype == DType::Float64, "GptConfig: dtype must be float32 or float64");
}

std::string GptConfig::to_json() const {
  nlohmann::ordered_json j;
  j["vocab_size"] = vocab_size;
  j["context"] = context;
  j["width"] = width;
  j["layers"] = layers;
  j["heads"] = heads;
  j["mlp_ratio"] = mlp_ratio;
  j["dropout_embd"] = dropout_embd;
  j["dropout_attn"] = dropout_attn;
  j["dropout_resid"] = dropout_resid;
  j["layer_norm_eps"] = layer_norm_eps;
  j["tied_head"] = tied_head;
  j["gelu"] = gelu == GeluApproximation::Tanh ? "tanh" : "none";
  j["seed"] = seed;
  j["dtype"] = dtype == DType::Float64 ? "float64" : "float32";
  return j.dump();
}

GptConfig GptConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  OURO_CHECK(!j.is_discarded() && j.is_object(), "GptConfig::from_json: expected a JSON object, got '", text, "'");
  GptConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    auto integer = [&](std::int64_t& out) {
      OURO_CHECK(v.is_number_integer(), "GptConfig::from_json: '", key, "' must be an integer, got ", v.dump());
      out = v.get<std::int64_t>();
    };
    auto number = [&](double& out) {
      OURO_CHECK(v.is_number(), "GptConfig::from_json: '", key, "' must be a number, got ", v.dump());
      out = v.get<double>();
    };
    if (key == "vocab_size") integer(c.vocab_size);
    else if (key == "context") integer(c.context);
    else if (key == "width") integer(c.width);
    else if (key == "layers") integer(c.layers);
    else if (key == "heads") integer(c.heads);
    else if (key == "mlp_ratio") integer(c.mlp_ratio);
    else if (key == "dropout_embd") number(c.dropout_embd);
    else if (key == "dropout_attn") number(c.dropout_attn);
    else if (key == "dropout_resid") number(c.dropout_resid);
    else if (key == "layer_norm_eps") number(c.layer_norm_eps);
    else if (key == "tied_head") {
      OURO_CHECK(v.is_boolean(), "GptConfig::from_json: 'tied_head' must be true or false, got ", v.dump());
      c.tied_head = v.get<bool>();
    } else if (key == "gelu") {
      OURO_CHECK(v == "tanh" || v == "none", "GptConfig::from_json: 'gelu' must be \"tanh\" or \"none\", got ",
                 v.dump());
      c.gelu = v == "tanh" ? GeluApproximation::Tanh : GeluApproximation::None;
    } else if (key == "seed") {
      OURO_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0),
                 "GptConfig::from_json: 'seed' must be a non-negative integer, got ", v.dump());
      c.seed = v.get<std::uint64_t>();
    } else if (key == "dtype") {
      OURO_CHECK(v == "float32" || v == "float64", "GptConfig::from_json: 'dtype' must be \"float32\" or \"float64\", got ",
                 v.dump());
      c.dtype = v == "float64" ? DType::Float64 : DType::Float32;
    } else {
      throw Error("GptConfig::from_json: unknown key '" + key + "'");
    }
  }
  c.validate();
  return c;
}

// ---------------------------------------------------------------- attention

GptAttention::GptAttention(const GptConfig& config, Generator* generator) : config_(config), generator_(generator) {
  c_attn = register_module("c_attn", std::make_shared<Linear>(LinearOptions{
                                         .in = config.width, .out = 3 * config.width, .dtype = config.dtype,
                                         .generator = generator}));
  c_proj = register_module("c_proj", std::make_shared<Linear>(LinearOptions{
                                         .in = config.width, .out = config.width, .dtype = config.dtype,
                                         .generator = generator}));
}

void GptAttention::split_heads(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) const {
  const std::int64_t B = qkv.size(0), T = qkv.size(1), H = config_.heads, D = config_.width / H;
  const std::vector<Tensor> parts = split(qkv, config_.width, -1);
  // [B, T, width] -> [B, T, H, D] -> [B, H, T, D]: head h owns columns h*D .. h*D+D-1 of each
  // of q, k, v, as in Hugging Face's GPT2Attention._split_heads.
  auto heads = [&](const Tensor& t) { return permute(reshape(t, {B, T, H, D}), {0, 2, 1, 3}); };
  q = heads(parts[0]);
  k = heads(parts[1]);
  v = heads(parts[2]);
}

Tensor GptAttention::merge_heads(const Tensor& y) const {
  return reshape(permute(y, {0, 2, 1, 3}), {y.size(0), y.size(2), config_.width});
}

AttentionOptions GptAttention::attention_options() {
  AttentionOptions options;
  options.causal = true;
  options.dropout_p = config_.dropout_attn;
  options.training = is_training();
  options.generator = generator_;
  return options;
}

Tensor GptAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v) {
  return scaled_dot_product_attention(q, k, v, attention_options());
}

Tensor GptAttention::forward(const Tensor& x) {
  // The packed op reads the heads out of c_attn's output in place and writes them merged: the
  // same result as split_heads, attend and merge_heads, without their copies in backward.
  return c_proj->forward(packed_qkv_attention(c_attn->forward(x), config_.heads, attention_options()));
}

Tensor GptAttention::forward_cached(const Tensor& x, Tensor& key_cache, Tensor& value_cache, std::int64_t start) {
  Tensor q, k, v;
  split_heads(c_attn->forward(x), q, k, v);
  const std::int64_t T = x.size(1);
  narrow(key_cache, 2, start, T).copy_from_(k);
  narrow(value_cache, 2, start, T).copy_from_(v);
  // The new queries are the last T of start + T positions: the attention op's causal mask
  // with Tk > Tq lets query i see keys j <= i + start.
  const Tensor keys = narrow(key_cache, 2, 0, start + T);
  const Tensor values = narrow(value_cache, 2, 0, start + T);
  return c_proj->forward(merge_heads(attend(q, keys, values)));
}

// ---------------------------------------------------------------- MLP, block

GptMlp::GptMlp(const GptConfig& config, Generator* generator) : gelu_(config.gelu) {
  const std::int64_t hidden = config.mlp_ratio * config.width;
  c_fc = register_module("c_fc", std::make_shared<Linear>(LinearOptions{
                                     .in = config.width, .out = hidden, .dtype = config.dtype, .generator = generator}));
  c_proj = register_module("c_proj", std::make_shared<Linear>(LinearOptions{
                                         .in = hidden, .out = config.width, .dtype = config.dtype,
                                         .generator = generator}));
}

Tensor GptMlp::forward(const Tensor& x) { return c_proj->forward(gelu(c_fc->forward(x), gelu_)); }

GptBlock::GptBlock(const GptConfig& config, Generator* generator)
    : dropout_resid_(config.dropout_resid), generator_(generator) {
  ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(Shape{config.width}, config.layer_norm_eps, true,
                                                             config.dtype));
  attn = register_module("attn", std::make_shared<GptAttention>(config, generator));
  ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(Shape{config.width}, config.layer_norm_eps, true,
                                                             config.dtype));
  mlp = register_module("mlp", std::make_shared<GptMlp>(config, generator));
}

Tensor GptBlock::forward(const Tensor& x) {
  const Tensor a = dropout(attn->forward(ln_1->forward(x)), dropout_resid_, is_training(), generator_);
  const Tensor y = x + a;
  return y + dropout(mlp->forward(ln_2->forward(y)), dropout_resid_, is_training(), generator_);
}

Tensor GptBlock::forward_cached(const Tensor& x, Tensor& key_cache, Tensor& value_cache, std::int64_t start) {
  const Tensor y = x + attn->forward_cached(ln_1->forward(x), key_cache, value_cache, start);
  return y + mlp->forward(ln_2->forward(y));
}

void GptBlockList::append(std::shared_ptr<GptBlock> block) {
  add_child(std::to_string(blocks_.size()), block);
  blocks_.push_back(std::move(block));
}

// ---------------------------------------------------------------- model

Gpt::Gpt(const GptConfig& config) : config_(config), generator_(config.seed) {
  config_.validate();
  Generator* gen = &generator_;
  wte_ = register_module("wte", std::make_shared<Embedding>(config.vocab_size, config.width, gen, config.dtype));
  wpe_ = register_module("wpe", std::make_shared<Embedding>(config.context, config.width, gen, config.dtype));
  h_ = register_module("h", std::make_shared<GptBlockList>());
  for (std::int64_t i = 0; i < config.layers; ++i) h_->append(std::make_shared<GptBlock>(config_, gen));
  ln_f_ = register_module("ln_f", std::make_shared<LayerNorm>(Shape{config.width}, config.layer_norm_eps, true,
                                                              config.dtype));
  if (!config.tied_head)
    lm_head_ = register_module("lm_head", std::make_shared<Linear>(LinearOptions{
                                              .in = config.width, .out = config.vocab_size, .bias = false,
                                              .dtype = config.dtype, .generator = gen}));

  // GPT-2's initialisation (Hugging Face GPT2PreTrainedModel._init_weights, nanoGPT), drawn
  // after construction in module order so the same seed gives the same weights.
  const double std_residual = 0.02 / std::sqrt(2.0 * static_cast<double>(config.layers));
  normal_(wte_->weight(), 0.0, 0.02, gen);
  normal_(wpe_->weight(), 0.0, 0.02, gen);
  for (const auto& [name, module] : named_modules()) {
    auto* linear = dynamic_cast<Linear*>(module.get());
    if (linear == nullptr) continue;
    const bool residual = name.size() >= 7 && name.compare(name.size() - 7, 7, ".c_proj") == 0;
    normal_(linear->weight(), 0.0, residual ? std_residual : 0.02, gen);
    if (linear->bias().defined()) zeros_(linear->bias());
  }
}

std::shared_ptr<Gpt> Gpt::from_config_json(const std::string& json) {
  return std::make_shared<Gpt>(GptConfig::from_json(json));
}

std::string Gpt::describe() const {
  std::ostringstream out;
  out << "Gpt: " << config_.layers << " layers, " << config_.heads << " heads, width " << config_.width
      << ", context " << config_.context << ", vocabulary " << config_.vocab_size << ", " << std::fixed
      << std::setprecision(2) << static_cast<double>(parameter_count()) / 1e6 << " M parameters ("
      << (config_.tied_head ? "tied" : "untied") << " head)";
  return out.str();
}

void Gpt::check_tokens(const Tensor& tokens, std::int64_t start, const char* what) const {
  OURO_CHECK(tokens.defined() && tokens.dtype() == DType::Int64 && tokens.dim() == 2,
             "Gpt::", what, ": expected int64 token ids [batch, time], got ",
             tokens.defined() ? tokens.describe() : std::string("an undefined tensor"));
  const std::int64_t T = tokens.size(1);
  OURO_CHECK(T >= 1 && tokens.size(0) >= 1, "Gpt::", what, ": empty token tensor of shape ", shape_str(tokens.shape()));
  OURO_CHECK(start + T <= config_.context, "Gpt::", what, ": sequence of ", start + T,
             " tokens is longer than the model's context of ", config_.context,
             start > 0 ? " (cached positions included; reset the cache and re-prefill a window)" : "");
  const std::vector<std::int64_t> ids = tokens.to_index_vector();
  for (std::size_t i = 0; i < ids.size(); ++i)
    OURO_CHECK(ids[i] >= 0 && ids[i] < config_.vocab_size, "Gpt::", what, ": token id ", ids[i], " at position ", i,
               " is outside the vocabulary [0, ", config_.vocab_size, ")");
}

Tensor Gpt::head(const Tensor& hidden) {
  if (lm_head_) return lm_head_->forward(hidden);
  // Tied head: the token embedding doubles as the output projection (Press & Wolf 2017), so
  // wte.weight gets gradient from both uses.
  return linear(hidden, wte_->weight());
}

Tensor Gpt::hidden_states(const Tensor& tokens) {
  check_tokens(tokens, 0, "forward");
  const std::int64_t T = tokens.size(1);
  const Tensor positions = Tensor::arange(T, DType::Int64);
  Tensor x = wte_->forward(tokens) + wpe_->forward(positions);  // [B, T, W] + [T, W]
  x = dropout(x, config_.dropout_embd, is_training(), &generator_);
  for (std::int64_t i = 0; i < h_->size(); ++i) x = (*h_)[i].forward(x);
  return ln_f_->forward(x);
}

Tensor Gpt::forward(const Tensor& tokens) { return head(hidden_states(tokens)); }

Tensor Gpt::forward_cached(const Tensor& tokens, KvCache& cache) {
  NoGradGuard no_grad;
  const std::int64_t start = cache.length;
  check_tokens(tokens, start, "forward_cached");
  const std::int64_t B = tokens.size(0), T = tokens.size(1);
  if (cache.keys.empty() || cache.batch != B || static_cast<std::int64_t>(cache.keys.size()) != config_.layers) {
    OURO_CHECK(start == 0, "Gpt::forward_cached: the cache holds ", start, " positions for batch ", cache.batch,
               ", got tokens of batch ", B);
    const Shape shape{B, config_.heads, config_.context, config_.width / config_.heads};
    cache.keys.assign(static_cast<std::size_t>(config_.layers), Tensor());
    cache.values.assign(static_cast<std::size_t>(config_.layers), Tensor());
    for (std::int64_t i = 0; i < config_.layers; ++i) {
      cache.keys[static_cast<std::size_t>(i)] = Tensor::zeros(shape, config_.dtype);
      cache.values[static_cast<std::size_t>(i)] = Tensor::zeros(shape, config_.dtype);
    }
    cache.batch = B;
  }
  // The cached path is inference: dropout off whatever the module's mode, restored on every
  // exit path.
  struct ModeGuard {
    Module& model;
    bool was_training;
    ~ModeGuard() {
      if (was_training) model.train();
    }
  } guard{*this, is_training()};
  if (guard.was_training) eval();
  std::vector<std::int64_t> pos(static_cast<std::size_t>(T));
  std::iota(pos.begin(), pos.end(), start);
  Tensor x = wte_->forward(tokens) + wpe_->forward(Tensor::from_indices(pos, {T}));
  for (std::int64_t i = 0; i < h_->size(); ++i)
    x = (*h_)[i].forward_cached(x, cache.keys[static_cast<std::size_t>(i)], cache.values[static_cast<std::size_t>(i)],
                                start);
  const Tensor logits = head(ln_f_->forward(x));
  cache.length = start + T;
  return logits;
}

}  // namespace ouro
