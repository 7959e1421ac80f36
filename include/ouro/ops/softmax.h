// Softmax and log-softmax along one dimension, fused and max-subtracted (finite for any
// finite input), with their backward. Float32 and float64, any layout.
#pragma once
#include <cstdint>

#include "ouro/tensor/tensor.h"

namespace ouro {

// exp(x) / sum(exp(x)) along dim (negative counts from the end).
Tensor softmax(const Tensor& x, std::int64_t dim = -1);
// x - log(sum(exp(x))) along dim; use it rather than log(softmax(x)), which underflows.
Tensor log_softmax(const Tensor& x, std::int64_t dim = -1);

}  // namespace ouro
