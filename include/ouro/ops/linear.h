// linear: y = x @ weight^T + bias over the last dimension of x, as one op (torch's F.linear).
// One GEMM forward (bias preloaded into the output), and in backward one GEMM per input that
// needs a gradient, accumulating straight into the gradient buffers: no transposed copies.
#pragma once
#include "ouro/tensor/tensor.h"

namespace ouro {

// x [..., in], weight [out, in], bias [out] or undefined -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace ouro
