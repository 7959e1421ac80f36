// Elementwise activation functions with their backward, matching PyTorch's definitions and
// defaults: relu, leaky_relu, rrelu, sigmoid, tanh, gelu, softplus. Float32 and float64.
#pragma once
#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

// The gradient at 0 is 0, as in PyTorch.
Tensor relu(const Tensor& x);
// x where x > 0, negative_slope * x elsewhere.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
// Randomized leaky ReLU (Xu et al. 2015). In training each element draws its own negative
// slope from U(lower, upper) out of `gen` (the default generator when null), one draw per
// element in row-major order whatever its sign, and backward reuses those slopes. In eval
// the slope is the fixed (lower + upper) / 2 and nothing is drawn.
Tensor rrelu(const Tensor& x, double lower = 1.0 / 8.0, double upper = 1.0 / 3.0, bool training = false,
             Generator* gen = nullptr);
// Finite for every finite input (no overflow of exp for large |x|).
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

enum class GeluApproximation { None, Tanh };
// x * Phi(x) (None, the exact erf form) or PyTorch's approximate="tanh" form.
Tensor gelu(const Tensor& x, GeluApproximation approximate = GeluApproximation::None);
// log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold (as torch.nn.functional.softplus).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

}  // namespace ouro
