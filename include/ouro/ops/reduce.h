// Reductions along any axes, with keepdim, each with its backward: sum, mean, max, var;
// argmax (no gradient).
#pragma once
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// An empty `dims` list reduces over every dimension. Negative dims count from the end.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
// Maximum over dims; the gradient goes to the first maximal element (as PyTorch's max(dim)).
Tensor max(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false);
// Index of the first maximum along one dim, as int64.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
// Variance with `correction` (1 = unbiased, as torch.var's default; 0 = population).
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims = {}, bool keepdim = false,
           std::int64_t correction = 1);

}  // namespace ouro
