// Strided iteration shared by the elementwise kernels: walks up to three operands of one
// shape (each with its own strides, 0 on broadcast dimensions) row by row, merging
// dimensions that are laid out contiguously so the inner loop is as long as possible.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include <omp.h>

#include "ouro/kernels/cpu/parallel.h"

namespace ouro::kernels {

template <std::size_t N>
struct StridedLayout {
  std::vector<std::int64_t> shape;                       // after merging
  std::array<std::vector<std::int64_t>, N> strides;      // per operand, after merging
};

// Merges adjacent dimensions d, d+1 whenever every operand has stride[d] == stride[d+1]*shape[d+1],
// and drops size-1 dimensions. Keeps at least one dimension.
template <std::size_t N>
StridedLayout<N> merge_dimensions(std::int64_t rank, const std::int64_t* shape,
                                  const std::array<const std::int64_t*, N>& strides) {
  StridedLayout<N> layout;
  for (std::int64_t d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    if (!layout.shape.empty()) {
      bool mergeable = true;
      for (std::size_t k = 0; k < N; ++k)
        if (layout.strides[k].back() != strides[k][d] * shape[d]) mergeable = false;
      if (mergeable) {
        layout.shape.back() *= shape[d];
        for (std::size_t k = 0; k < N; ++k) layout.strides[k].back() = strides[k][d];
        continue;
      }
    }
    layout.shape.push_back(shape[d]);
    for (std::size_t k = 0; k < N; ++k) layout.strides[k].push_back(strides[k][d]);
  }
  if (layout.shape.empty()) {
    layout.shape.push_back(1);
    for (std::size_t k = 0; k < N; ++k) layout.strides[k].push_back(0);
  }
  return layout;
}

// Calls row(offsets, length, inner_strides) for every innermost row, in parallel over rows.
// offsets[k] is the element offset of operand k at the row's start.
template <std::size_t N, typename RowFn>
void for_each_row(const StridedLayout<N>& layout, RowFn&& row) {
  const std::int64_t rank = static_cast<std::int64_t>(layout.shape.size());
  const std::int64_t length = layout.shape.back();
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d + 1 < rank; ++d) rows *= layout.shape[d];
  std::array<std::int64_t, N> inner;
  for (std::size_t k = 0; k < N; ++k) inner[k] = layout.strides[k].back();
  const int threads = threads_for(rows * length);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && rows > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    std::array<std::int64_t, N> offsets{};
    std::int64_t rest = r;
    for (std::int64_t d = rank - 2; d >= 0; --d) {
      const std::int64_t i = rest % layout.shape[d];
      rest /= layout.shape[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += i * layout.strides[k][d];
    }
    row(offsets, length, inner);
  }
}

// dst (contiguous) = src viewed through `src_strides`, with conversion from S to D.
template <typename S, typename D>
void strided_copy(std::int64_t rank, const std::int64_t* shape, const S* src, const std::int64_t* src_strides, D* dst) {
  std::vector<std::int64_t> dst_strides(static_cast<std::size_t>(rank));
  std::int64_t stride = 1;
  for (std::int64_t d = rank - 1; d >= 0; --d) {
    dst_strides[d] = stride;
    stride *= shape[d];
  }
  if (stride == 0) return;
  const auto layout = merge_dimensions<2>(rank, shape, {dst_strides.data(), src_strides});
  for_each_row(layout, [&](const std::array<std::int64_t, 2>& off, std::int64_t n, const std::array<std::int64_t, 2>& st) {
    D* out = dst + off[0];
    const S* in = src + off[1];
    if (st[1] == 1) {
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<D>(in[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<D>(in[i * st[1]]);
    }
  });
}

}  // namespace ouro::kernels
