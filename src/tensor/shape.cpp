#include "ouro/tensor/shape.h"

#include <limits>
#include <sstream>

#include "ouro/core/error.h"

namespace ouro {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    OURO_CHECK(d >= 0, "shape ", shape_str(shape), ": sizes must be >= 0");
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d)
      throw Error("shape " + shape_str(shape) + ": element count overflows 64 bits");
    n *= d;
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  // Unsigned, so that a shape whose product does not fit ([0, 2^40, 2^40] holds no element;
  // [2^40, 2^40] is rejected by shape_numel) wraps instead of overflowing a signed integer,
  // which is undefined behaviour (UBSan, make test-asan). A shape that has elements passes
  // shape_numel, so its strides fit.
  std::uint64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = static_cast<std::int64_t>(stride);
    stride *= static_cast<std::uint64_t>(shape[i] > 0 ? shape[i] : 1);
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(detail::concat(op, ": shapes ", shape_str(a), " and ", shape_str(b),
                                 " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")"));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::int64_t normalize_dim(std::int64_t dim, std::int64_t rank, const char* op) {
  const std::int64_t fixed = dim < 0 ? dim + rank : dim;
  OURO_CHECK(fixed >= 0 && fixed < rank, op, ": dimension ", dim, " is out of range for a tensor of rank ", rank);
  return fixed;
}

}  // namespace ouro
