// Fused softmax and log-softmax, forward and backward, along the middle axis of contiguous
// data laid out as [outer, n, inner] (inner == 1: the reduced axis is the last one). The max
// is subtracted before exp, so any finite input gives a finite result. Work is split over
// independent lanes (rows, or columns when inner > 1) and each is reduced in double in an order
// fixed by the indices alone (interleaved LaneSum partials along a row, sequentially down a
// column), so results do not depend on the thread count. float uses exp_float (within 2 ulp,
// and vectorised); double keeps std::exp.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {

namespace softmax_detail {

// Columns handled together when inner > 1: wide enough that the inner loop runs over
// contiguous memory, small enough that the per-column accumulators stay in registers/L1.
constexpr std::int64_t kColumnBlock = 64;

// Calls lane(offset, stride, width) once per group of lanes: for inner == 1 each group is one
// contiguous row (stride 1, width 1); otherwise `width` adjacent columns of one outer index,
// each lane reading its n elements `inner` apart.
template <typename LaneFn>
void for_each_lane_group(std::int64_t outer, std::int64_t n, std::int64_t inner, LaneFn&& lane) {
  const std::int64_t blocks = inner == 1 ? 1 : (inner + kColumnBlock - 1) / kColumnBlock;
  const std::int64_t groups = outer * blocks;
  const int threads = threads_for(outer * n * inner);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && groups > 1)
  for (std::int64_t group = 0; group < groups; ++group) {
    const std::int64_t o = group / blocks, b = group % blocks;
    const std::int64_t first = b * kColumnBlock;
    const std::int64_t width = inner == 1 ? 1 : std::min(kColumnBlock, inner - first);
    lane(o * n * inner + first, width);
  }
}

}  // namespace softmax_detail

// y = exp(x - max) / sum(exp(x - max)) along n (LogSoftmax = false), or
// y = x - max - log(sum(exp(x - max))) (LogSoftmax = true).
template <typename T, bool LogSoftmax>
void softmax_forward_impl(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  if (outer == 0 || n == 0 || inner == 0) return;
  using softmax_detail::kColumnBlock;
  if (inner == 1) {
    softmax_detail::for_each_lane_group(outer, n, inner, [&](std::int64_t offset, std::int64_t) {
      const T* in = x + offset;
      T* out = y + offset;
      T max = in[0];
      // The maximum is exact in any order, so the compiler may reduce it however it likes.
#pragma omp simd reduction(max : max)
      for (std::int64_t j = 1; j < n; ++j) max = in[j] > max ? in[j] : max;
      // exp into out first (log-softmax overwrites it below), then sum: GCC does not if-convert
      // (so does not vectorise) one loop that mixes exp_float's float selects with a double sum.
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) out[j] = vector_exp<T>(in[j] - max);
      LaneSum lanes;
      for_each_lane(n, lanes, [&](std::int64_t j) { return static_cast<double>(out[j]); });
      const double sum = lanes.total();
      if constexpr (LogSoftmax) {
        const T shift = max + static_cast<T>(std::log(sum));
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) out[j] = in[j] - shift;
      } else {
        const T scale = static_cast<T>(1.0 / sum);
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) out[j] *= scale;
      }
    });
    return;
  }
  softmax_detail::for_each_lane_group(outer, n, inner, [&](std::int64_t offset, std::int64_t width) {
    T max[kColumnBlock];
    double sum[kColumnBlock];
    const T* in = x + offset;
    T* out = y + offset;
    for (std::int64_t c = 0; c < width; ++c) {
      max[c] = in[c];
      sum[c] = 0;
    }
    // Each column is its own chain, summed down j in order; the vector runs across columns.
    for (std::int64_t j = 1; j < n; ++j)
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) max[c] = in[j * inner + c] > max[c] ? in[j * inner + c] : max[c];
    // As in the row case, exp into out and sum in separate loops: GCC does not if-convert a
    // loop that mixes exp_float's float selects with the conversion to double.
    for (std::int64_t j = 0; j < n; ++j) {
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) out[j * inner + c] = vector_exp<T>(in[j * inner + c] - max[c]);
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) sum[c] += static_cast<double>(out[j * inner + c]);
    }
    if constexpr (LogSoftmax) {
      T shift[kColumnBlock];
      for (std::int64_t c = 0; c < width; ++c) shift[c] = max[c] + static_cast<T>(std::log(sum[c]));
      for (std::int64_t j = 0; j < n; ++j)
#pragma omp simd
        for (std::int64_t c = 0; c < width; ++c) out[j * inner + c] = in[j * inner + c] - shift[c];
    } else {
      T scale[kColumnBlock];
      for (std::int64_t c = 0; c < width; ++c) scale[c] = static_cast<T>(1.0 / sum[c]);
      for (std::int64_t j = 0; j < n; ++j)
#pragma omp simd
        for (std::int64_t c = 0; c < width; ++c) out[j * inner + c] *= scale[c];
    }
  });
}

// dx += y * (g - sum(g * y)), y the softmax output (LogSoftmax = false), or
// dx += g - exp(y) * sum(g), y the log-softmax output (LogSoftmax = true).
template <typename T, bool LogSoftmax>
void softmax_backward_impl(const T* y, const T* g, T* dx, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  if (outer == 0 || n == 0 || inner == 0) return;
  using softmax_detail::kColumnBlock;
  if (inner == 1) {
    softmax_detail::for_each_lane_group(outer, n, inner, [&](std::int64_t offset, std::int64_t) {
      const T* py = y + offset;
      const T* pg = g + offset;
      T* pdx = dx + offset;
      LaneSum lanes;
      for_each_lane(n, lanes, [&](std::int64_t j) {
        return LogSoftmax ? static_cast<double>(pg[j]) : static_cast<double>(pg[j]) * static_cast<double>(py[j]);
      });
      const T s = static_cast<T>(lanes.total());
      if constexpr (LogSoftmax) {
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) pdx[j] += pg[j] - vector_exp<T>(py[j]) * s;
      } else {
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) pdx[j] += py[j] * (pg[j] - s);
      }
    });
    return;
  }
  softmax_detail::for_each_lane_group(outer, n, inner, [&](std::int64_t offset, std::int64_t width) {
    double sum[kColumnBlock] = {};
    const T* py = y + offset;
    const T* pg = g + offset;
    T* pdx = dx + offset;
    for (std::int64_t j = 0; j < n; ++j)
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) {
        const std::int64_t k = j * inner + c;
        sum[c] += LogSoftmax ? static_cast<double>(pg[k]) : static_cast<double>(pg[k]) * static_cast<double>(py[k]);
      }
    T s[kColumnBlock];
    for (std::int64_t c = 0; c < width; ++c) s[c] = static_cast<T>(sum[c]);
    for (std::int64_t j = 0; j < n; ++j)
#pragma omp simd
      for (std::int64_t c = 0; c < width; ++c) {
        const std::int64_t k = j * inner + c;
        if constexpr (LogSoftmax) pdx[k] += pg[k] - vector_exp<T>(py[k]) * s[c];
        else pdx[k] += py[k] * (pg[k] - s[c]);
      }
  });
}

template <typename T>
void softmax_forward(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  softmax_forward_impl<T, false>(x, y, outer, n, inner);
}
template <typename T>
void log_softmax_forward(const T* x, T* y, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  softmax_forward_impl<T, true>(x, y, outer, n, inner);
}
template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  softmax_backward_impl<T, false>(y, g, dx, outer, n, inner);
}
template <typename T>
void log_softmax_backward(const T* y, const T* g, T* dx, std::int64_t outer, std::int64_t n, std::int64_t inner) {
  softmax_backward_impl<T, true>(y, g, dx, outer, n, inner);
}

}  // namespace ouro::kernels
