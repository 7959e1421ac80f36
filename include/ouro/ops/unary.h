// Elementwise math functions with their backward: exp, log, sqrt, abs, clamp.
#pragma once
#include <optional>

#include "ouro/tensor/tensor.h"

namespace ouro {

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
// The gradient at 0 is taken as 0 (the subgradient PyTorch also uses).
Tensor abs(const Tensor& x);
// Limits x to [min, max]; either bound may be absent. The gradient passes where min <= x <= max.
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

}  // namespace ouro
