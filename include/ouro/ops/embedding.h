// Embedding lookup (as torch.nn.functional.embedding) with its backward into the table.
#pragma once
#include "ouro/tensor/tensor.h"

namespace ouro {

// Rows of weight [V, D] picked by int64 `indices` of any shape: the result has shape
// indices.shape + [D]. Every index must lie in [0, V). The gradient flows to weight only;
// rows picked several times receive the sum of their gradients.
Tensor embedding(const Tensor& weight, const Tensor& indices);

}  // namespace ouro
