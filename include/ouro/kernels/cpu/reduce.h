// Reductions over any set of axes. The input is read through strides, split into kept
// dimensions (one output element each) and reduced dimensions (walked for each output).
// Each output element is reduced by one thread in a fixed order, so results do not depend
// on the thread count; sums accumulate in double.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"

namespace ouro::kernels {

struct ReduceLayout {
  std::vector<std::int64_t> kept_shape, kept_strides;        // output dimensions
  std::vector<std::int64_t> reduced_shape, reduced_strides;  // walked per output element
  std::int64_t outputs() const {
    std::int64_t n = 1;
    for (auto s : kept_shape) n *= s;
    return n;
  }
  std::int64_t reduced() const {
    std::int64_t n = 1;
    for (auto s : reduced_shape) n *= s;
    return n;
  }
};

// Calls visit(offset) for every reduced element of output `o`, in row-major order.
template <typename Visit>
inline void walk_reduced(const ReduceLayout& layout, std::int64_t base, Visit&& visit) {
  const std::size_t rank = layout.reduced_shape.size();
  if (rank == 0) {
    visit(base);
    return;
  }
  const std::int64_t inner = layout.reduced_shape[rank - 1];
  const std::int64_t inner_stride = layout.reduced_strides[rank - 1];
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < rank; ++d) rows *= layout.reduced_shape[d];
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t offset = base, rest = r;
    for (std::size_t d = rank - 1; d-- > 0;) {
      offset += (rest % layout.reduced_shape[d]) * layout.reduced_strides[d];
      rest /= layout.reduced_shape[d];
    }
    for (std::int64_t i = 0; i < inner; ++i) visit(offset + i * inner_stride);
  }
}

inline std::int64_t kept_offset(const ReduceLayout& layout, std::int64_t o) {
  std::int64_t offset = 0;
  for (std::size_t d = layout.kept_shape.size(); d-- > 0;) {
    offset += (o % layout.kept_shape[d]) * layout.kept_strides[d];
    o /= layout.kept_shape[d];
  }
  return offset;
}

// out[o] = scale * sum of the reduced elements of output o.
template <typename T>
void reduce_sum(const T* x, const ReduceLayout& layout, T* out, double scale) {
  const std::int64_t outputs = layout.outputs();
  const int threads = threads_for(outputs * layout.reduced());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && outputs > 1)
  for (std::int64_t o = 0; o < outputs; ++o) {
    double acc = 0;
    walk_reduced(layout, kept_offset(layout, o), [&](std::int64_t off) { acc += x[off]; });
    out[o] = static_cast<T>(acc * scale);
  }
}

// out[o] = max, index[o] = position (0-based, row-major over the reduced dims) of the first max.
// NaN wins, as in NumPy and PyTorch, so a NaN is never silently dropped.
template <typename T>
void reduce_max(const T* x, const ReduceLayout& layout, T* out, std::int64_t* index) {
  const std::int64_t outputs = layout.outputs();
  const int threads = threads_for(outputs * layout.reduced());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && outputs > 1)
  for (std::int64_t o = 0; o < outputs; ++o) {
    T best = -std::numeric_limits<T>::infinity();
    std::int64_t best_i = 0, i = 0;
    bool nan = false;
    walk_reduced(layout, kept_offset(layout, o), [&](std::int64_t off) {
      const T v = x[off];
      if (!nan && (v > best || std::isnan(v) || i == 0)) {
        best = v;
        best_i = i;
        nan = std::isnan(v);
      }
      ++i;
    });
    if (out) out[o] = best;
    if (index) index[o] = best_i;
  }
}

// out[o] = sum((x - mean)^2) / (n - correction), two passes in double.
template <typename T>
void reduce_var(const T* x, const ReduceLayout& layout, T* out, std::int64_t correction) {
  const std::int64_t outputs = layout.outputs();
  const double n = static_cast<double>(layout.reduced());
  const int threads = threads_for(outputs * layout.reduced());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && outputs > 1)
  for (std::int64_t o = 0; o < outputs; ++o) {
    const std::int64_t base = kept_offset(layout, o);
    double sum = 0;
    walk_reduced(layout, base, [&](std::int64_t off) { sum += x[off]; });
    const double mean = sum / n;
    double sq = 0;
    walk_reduced(layout, base, [&](std::int64_t off) {
      const double d = x[off] - mean;
      sq += d * d;
    });
    const double denom = n - static_cast<double>(correction);
    out[o] = static_cast<T>(denom > 0 ? sq / denom : std::numeric_limits<double>::quiet_NaN());
  }
}

}  // namespace ouro::kernels
