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

// Validates the three inputs (the error names the tensor, its shape and what was expected).
struct AttentionDims {
  std::int64_t batch, heads, queries, keys, head_dim;
};
AttentionDims check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const AttentionOptions& options);

}  // namespace ouro
