#include "ouro/ops/attention.h"

namespace ouro {

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  check_attention_inputs("scaled_dot_product_attention", q, k, v, options);
  return scaled_dot_product_attention_reference(q, k, v, options);
}

}  // namespace ouro
