// Layer normalization over trailing dimensions (Ba et al. 2016, as torch.nn.functional.layer_norm),
// fused forward and backward. Float32 and float64.
#pragma once
#include "ouro/tensor/shape.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

// Normalizes x over its trailing dimensions `normalized_shape` to zero mean and unit
// (population) variance, then scales by weight and shifts by bias; each of those has shape
// normalized_shape and may be left undefined (Tensor()) to skip it.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace ouro
