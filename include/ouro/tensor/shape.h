// Shape and Strides: sizes per dimension, element counts, broadcasting rules.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ouro {

using Shape = std::vector<std::int64_t>;
using Strides = std::vector<std::int64_t>;

// Product of the sizes; throws ouro::Error on a negative size or on overflow past int64.
std::int64_t shape_numel(const Shape& shape);
// Row-major strides, in elements.
Strides contiguous_strides(const Shape& shape);
// "[2, 3, 4]"
std::string shape_str(const Shape& shape);
// NumPy broadcasting of two shapes; `op` names the caller in the error.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// A dimension index that may be negative (Python style), checked against rank; `op` names the caller.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t rank, const char* op);

}  // namespace ouro
