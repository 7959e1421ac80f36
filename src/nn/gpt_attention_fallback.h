// TEMPORARY: the attention op of the issue-5 contract (include/ouro/ops/attention.h, helper
// "attention"), composed from existing ops until that header lands on main. Same signature
// and causal convention (queries are the last Tq of Tk positions).
#pragma once
#include <cmath>
#include <limits>
#include <optional>

#include "ouro/ops/arithmetic.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/linalg.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/ops/softmax.h"

namespace ouro {

struct AttentionOptions {
  bool causal = true;
  std::optional<double> scale;
  double dropout_p = 0;
  bool training = false;
  Generator* generator = nullptr;
};

inline Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const AttentionOptions& options = {}) {
  const std::int64_t Tq = q.size(2), Tk = k.size(2), D = q.size(3);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(D)));
  Tensor scores = matmul(q, transpose(k, 2, 3)) * scale;
  if (options.causal) {
    std::vector<double> mask(static_cast<std::size_t>(Tq * Tk), 0.0);
    for (std::int64_t i = 0; i < Tq; ++i)
      for (std::int64_t j = i + (Tk - Tq) + 1; j < Tk; ++j) mask[static_cast<std::size_t>(i * Tk + j)] = 1.0;
    scores = masked_fill(scores, Tensor::from_vector(mask, {Tq, Tk}), -std::numeric_limits<double>::infinity());
  }
  Tensor p = dropout(softmax(scores, -1), options.dropout_p, options.training, options.generator);
  return matmul(p, v);
}

}  // namespace ouro
