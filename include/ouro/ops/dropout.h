// Inverted dropout (Srivastava et al. 2014, as torch.nn.functional.dropout) with its backward.
#pragma once
#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

// In training, zeroes each element with probability p (drawn from `gen`, the default
// generator when null, one draw per element in row-major order) and scales the kept ones by
// 1 / (1 - p), so the expected value is unchanged; backward applies the same mask. Returns x
// itself in eval or when p == 0, and zeros when p == 1. p outside [0, 1] is an error.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace ouro
