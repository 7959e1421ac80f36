// Shape, view and indexing ops with their backward. Views (reshape of a contiguous tensor,
// permute, transpose, slice, narrow, expand, squeeze, unsqueeze) share storage; the others copy.
#pragma once
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// One size may be -1 (inferred). A view when the strides allow it, otherwise a copy.
Tensor reshape(const Tensor& x, const Shape& shape);
// Like reshape, but never copies: throws when the strides do not allow a view.
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& order);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
// Elements start, start+step, ... before end along dim (end clipped to the size, Python style negatives).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
// Broadcast view to `shape` (size-1 dimensions stretched with stride 0; -1 keeps a size).
Tensor expand(const Tensor& x, const Shape& shape);
// A contiguous tensor with x's values (x itself when already contiguous).
Tensor contiguous(const Tensor& x);

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim);
// Pieces of `size` along dim (the last may be shorter).
std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim);
// Pieces with the given sizes along dim.
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim);

// Rows of x along dim picked by a 1-D int64 index.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
// out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (as torch.gather); index is int64, same rank.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// A copy of x with src added at the positions index names along dim (as torch.scatter_add).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
// condition ? a : b elementwise, with broadcasting; condition is any dtype (non-zero = true).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// x where mask is zero, value where mask is non-zero (broadcast mask).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace ouro
