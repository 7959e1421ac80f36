// Gpt: a GPT-2-style decoder-only transformer (Radford et al. 2019) — token and learned
// position embeddings, pre-LayerNorm blocks of causal multi-head self-attention and a GELU MLP,
// a final LayerNorm and an output head tied to the token embedding — with a KV cache for
// incremental decoding. Parameter names are those of Hugging Face's GPT2Model (`wte.weight`,
// `h.0.attn.c_attn.weight`, ...), every projection an ouro::Linear child module ([out, in]
// layout) so that LoRA and freezing reach it by module name.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/module.h"
#include "ouro/ops/activation.h"
#include "ouro/ops/attention.h"
#include "ouro/tensor/random.h"

namespace ouro {

struct GptConfig {
  std::int64_t vocab_size = 256;
  std::int64_t context = 128;  // the longest sequence (the number of learned positions)
  std::int64_t width = 128;    // d_model; a multiple of heads
  std::int64_t layers = 4;
  std::int64_t heads = 4;
  std::int64_t mlp_ratio = 4;  // the MLP's hidden width is mlp_ratio * width
  double dropout_embd = 0.0;   // on the summed embeddings
  double dropout_attn = 0.0;   // on the attention probabilities
  double dropout_resid = 0.0;  // on each block's attention and MLP output before the residual add
  double layer_norm_eps = 1e-5;
  bool tied_head = true;  // logits = h @ wte.weight^T; false adds an untied `lm_head.weight`
  // GPT-2 uses the tanh approximation ("gelu_new" in Hugging Face); None is the exact erf form.
  GeluApproximation gelu = GeluApproximation::Tanh;
  std::uint64_t seed = 0;        // initial weights, then every dropout mask
  DType dtype = DType::Float32;  // float64 for gradient checks

  // Throws ouro::Error naming the first field out of range (heads not dividing width, ...).
  void validate() const;
  // {"vocab_size", "context", "width", "layers", "heads", "mlp_ratio", "dropout_embd",
  //  "dropout_attn", "dropout_resid", "layer_norm_eps", "tied_head", "gelu": "tanh"|"none",
  //  "seed", "dtype": "float32"|"float64"}
  std::string to_json() const;
  // Missing keys keep their defaults; unknown keys and wrong types are errors.
  static GptConfig from_json(const std::string& json);
};

// The keys and values cached per layer for incremental decoding. Buffers are allocated on the
// first forward_cached call for its batch size and hold `capacity` (the model's context)
// positions; `length` of them are filled. reset() empties the cache (keeps the buffers).
struct KvCache {
  std::vector<Tensor> keys, values;  // per layer [B, heads, capacity, head_dim]
  std::int64_t length = 0;
  std::int64_t batch = 0;
  void reset() { length = 0; }
  bool empty() const { return length == 0; }
};

// Causal self-attention: c_attn packs q, k, v ([3 width, width]), c_proj mixes the heads.
class GptAttention : public Module {
 public:
  GptAttention(const GptConfig& config, Generator* generator);
  std::string type_name() const override { return "GptAttention"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;  // [B, T, width] -> [B, T, width]
  // The same for new positions whose keys/values are appended to (key_cache, value_cache) at
  // [.., start, ..]; attends over all start + T cached positions. No graph is recorded.
  Tensor forward_cached(const Tensor& x, Tensor& key_cache, Tensor& value_cache, std::int64_t start);
  std::shared_ptr<Linear> c_attn, c_proj;

 private:
  // [B, T, 3 width] -> q, k, v each [B, heads, T, head_dim]
  void split_heads(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) const;
  Tensor merge_heads(const Tensor& y) const;  // [B, heads, T, head_dim] -> [B, T, width]
  Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v);
  AttentionOptions attention_options();  // causal, with the config's dropout in training
  GptConfig config_;
  Generator* generator_;
};

// The position-wise MLP: c_fc (width -> mlp_ratio * width), GELU, c_proj back to width.
class GptMlp : public Module {
 public:
  GptMlp(const GptConfig& config, Generator* generator);
  std::string type_name() const override { return "GptMlp"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Linear> c_fc, c_proj;

 private:
  GeluApproximation gelu_;
};

// x + drop(attn(ln_1(x))), then x + drop(mlp(ln_2(x))).
class GptBlock : public Module {
 public:
  GptBlock(const GptConfig& config, Generator* generator);
  std::string type_name() const override { return "GptBlock"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;
  Tensor forward_cached(const Tensor& x, Tensor& key_cache, Tensor& value_cache, std::int64_t start);
  std::shared_ptr<LayerNorm> ln_1, ln_2;
  std::shared_ptr<GptAttention> attn;
  std::shared_ptr<GptMlp> mlp;

 private:
  double dropout_resid_;
  Generator* generator_;
};

// Holds the blocks as children "0", "1", ... so their parameters are named h.<i>.*.
class GptBlockList : public Module {
 public:
  std::string type_name() const override { return "GptBlockList"; }
  void append(std::shared_ptr<GptBlock> block);
  std::int64_t size() const { return static_cast<std::int64_t>(blocks_.size()); }
  GptBlock& operator[](std::int64_t i) { return *blocks_.at(static_cast<std::size_t>(i)); }

 private:
  std::vector<std::shared_ptr<GptBlock>> blocks_;
};

class Gpt : public Module {
 public:
  // Initialisation as GPT-2: every Linear weight and both embeddings ~ N(0, 0.02), biases zero,
  // LayerNorms ones/zeros, and the residual projections (attn.c_proj, mlp.c_proj) ~ N(0,
  // 0.02 / sqrt(2 layers)) so the residual stream's variance does not grow with depth.
  explicit Gpt(const GptConfig& config);
  std::string type_name() const override { return "Gpt"; }
  std::string config_json() const override { return config_.to_json(); }
  static std::shared_ptr<Gpt> from_config_json(const std::string& json);

  using Module::forward;
  // tokens int64 [B, T] (T <= context, every id in [0, vocab_size)) -> logits [B, T, vocab_size].
  Tensor forward(const Tensor& tokens) override;
  // The final hidden states [B, T, width] (after ln_f), before the head.
  Tensor hidden_states(const Tensor& tokens);
  // Incremental decoding: the logits [B, T, V] of `tokens` [B, T], which continue the sequence
  // the cache holds (positions cache.length .. cache.length + T - 1). Appends their keys and
  // values to the cache. Same values as forward() over the whole sequence (to rounding), in
  // eval mode and without a graph (it is an inference path: NoGradGuard inside). The sequence
  // in the cache may not outgrow the context (an error: reset and re-prefill a window).
  Tensor forward_cached(const Tensor& tokens, KvCache& cache);
  // An empty cache for this model (buffers come on first use).
  KvCache make_cache() const { return KvCache{}; }

  const GptConfig& config() const { return config_; }
  std::int64_t blocks() const { return config_.layers; }
  GptBlock& block(std::int64_t i) { return (*h_)[i]; }
  Embedding& wte() { return *wte_; }
  Embedding& wpe() { return *wpe_; }
  // Draws the initial weights and every dropout mask: register it in FitOptions::generators so
  // that checkpoints resume exactly.
  Generator& generator() { return generator_; }
  // "Gpt: 4 layers, 4 heads, width 128, context 128, vocabulary 256, 0.85 M parameters (tied head)"
  std::string describe() const;

 private:
  void check_tokens(const Tensor& tokens, std::int64_t start, const char* what) const;
  Tensor head(const Tensor& hidden);
  GptConfig config_;
  Generator generator_;
  std::shared_ptr<Embedding> wte_, wpe_;
  std::shared_ptr<GptBlockList> h_;
  std::shared_ptr<LayerNorm> ln_f_;
  std::shared_ptr<Linear> lm_head_;  // only when !tied_head
};

}  // namespace ouro
