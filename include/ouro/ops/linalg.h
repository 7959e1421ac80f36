// Matrix products through BLAS, with their backward.
#pragma once
#include "ouro/tensor/tensor.h"

namespace ouro {

// a @ b. 1-D operands are promoted as in NumPy; inputs of rank >= 3 are batches of matrices
// with broadcast batch dimensions. Transposed views go to BLAS as transposes, not copies.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace ouro
