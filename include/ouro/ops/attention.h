// Scaled dot-product attention, softmax(q k^T * scale + causal mask) v, as one op with its
// backward. The causal mask follows the KV-cache convention: the Tq queries are the LAST Tq
// of the Tk key positions, so query i (0-based among the queries) sees keys j <= i + Tk - Tq.
//
// `scaled_dot_product_attention` is the op models call. `scaled_dot_product_attention_reference`
// composes the same computation from ordinary autograd ops (matmul, masked_fill, softmax,
// dropout, matmul): it materialises the [B, H, Tq, Tk] scores, and is the yardstick the op is
// tested against.
#pragma once
#include <optional>

#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

struct AttentionOptions {
  bool causal = true;
  std::optional<double> scale;  // default 1 / sqrt(D)
  double dropout_p = 0;         // on the attention probabilities, in training only
  bool training = false;
  Generator* generator = nullptr;  // dropout draws; the default generator when null
};

// q: [B, H, Tq, D]; k, v: [B, H, Tk, D] with Tk >= Tq (any Tk when not causal). Returns
// [B, H, Tq, D]. Float32 or float64, all three of one dtype.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});
Tensor scaled_dot_product_attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options = {});

// Attention over a packed projection, as GPT-2's c_attn makes it: qkv [B, T, 3C] holds q, k
// and v side by side (C = heads * D, head h in D columns of each). Returns [B, T, C] with the
// heads merged. The same computation as splitting qkv into heads, scaled_dot_product_attention
// (self-attention: Tq = Tk = T) and merging, but one op: the kernel reads the heads in place,
// writes the merged output directly, and its backward writes q's, k's and v's gradients into
// the one [B, T, 3C] gradient of qkv, with no split, permute or copy in between.
Tensor packed_qkv_attention(const Tensor& qkv, std::int64_t heads, const AttentionOptions& options = {});

// Validates the three inputs (the error names the tensor, its shape and what was expected).
struct AttentionDims {
  std::int64_t batch, heads, queries, keys, head_dim;
};
AttentionDims check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const AttentionOptions& options);

}  // namespace ouro
