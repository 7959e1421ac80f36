// The unfused attention: every step an ordinary autograd op, the [B, H, Tq, Tk] scores
// materialised. Slow and obviously right; the fused op is tested against it.
#include <cmath>
#include <limits>

#include "helpers.h"
#include "ouro/ops/attention.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/linalg.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/ops/softmax.h"

namespace ouro {

AttentionDims check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const AttentionOptions& options) {
  OURO_CHECK(q.defined() && k.defined() && v.defined(), op, ": q, k and v must all be defined");
  OURO_CHECK(q.dim() == 4, op, ": q must be [batch, heads, queries, head_dim], got a ", q.describe());
  OURO_CHECK(k.dim() == 4, op, ": k must be [batch, heads, keys, head_dim], got a ", k.describe());
  OURO_CHECK(v.dim() == 4, op, ": v must be [batch, heads, keys, head_dim], got a ", v.describe());
  OURO_CHECK(is_floating(q.dtype()), op, ": q must be float32 or float64, got a ", q.describe());
  OURO_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), op, ": q, k and v must share a dtype, got q ",
             q.describe(), ", k ", k.describe(), ", v ", v.describe());
  const AttentionDims d{q.shape()[0], q.shape()[1], q.shape()[2], k.shape()[2], q.shape()[3]};
  OURO_CHECK(k.shape() == Shape({d.batch, d.heads, d.keys, d.head_dim}), op, ": k must be [", d.batch, ", ",
             d.heads, ", keys, ", d.head_dim, "] to match q (", q.describe(), "), got a ", k.describe());
  OURO_CHECK(v.shape() == k.shape(), op, ": v must have k's shape (", k.describe(), "), got a ", v.describe());
  OURO_CHECK(d.head_dim > 0, op, ": head_dim must be positive, got q ", q.describe());
  OURO_CHECK(d.keys > 0 || d.queries == 0, op, ": no keys to attend to, k is a ", k.describe());
  if (options.causal)
    OURO_CHECK(d.keys >= d.queries, op, ": causal attention needs at least as many keys as queries ",
               "(the queries are the last positions), got q ", q.describe(), " and k ", k.describe());
  OURO_CHECK(options.dropout_p >= 0 && options.dropout_p <= 1, op, ": dropout_p must be in [0, 1], got ",
             options.dropout_p);
  if (options.scale) OURO_CHECK(std::isfinite(*options.scale), op, ": scale must be finite, got ", *options.scale);
  return d;
}

Tensor scaled_dot_product_attention_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionOptions& options) {
  const AttentionDims d = check_attention_inputs("scaled_dot_product_attention_reference", q, k, v, options);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(d.head_dim)));
  Tensor scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (options.causal) {
    // mask[i][j] = 1 where key j lies after query i's position i + (Tk - Tq).
    std::vector<double> mask(static_cast<std::size_t>(d.queries * d.keys), 0.0);
    const std::int64_t offset = d.keys - d.queries;
    for (std::int64_t i = 0; i < d.queries; ++i)
      for (std::int64_t j = i + offset + 1; j < d.keys; ++j) mask[static_cast<std::size_t>(i * d.keys + j)] = 1.0;
    scores = masked_fill(scores, Tensor::from_vector(mask, {d.queries, d.keys}, q.dtype()),
                         -std::numeric_limits<double>::infinity());
  }
  Tensor probabilities = softmax(scores, -1);
  probabilities = dropout(probabilities, options.dropout_p, options.training, options.generator);
  return matmul(probabilities, v);
}

}  // namespace ouro
