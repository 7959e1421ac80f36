// Fused layer normalization over the last n elements of contiguous [rows, n] data: one pass
// forward (saving each row's mean and reciprocal standard deviation) and one pass backward
// giving dx, dweight and dbias together. Row statistics and the dweight/dbias column sums
// accumulate in double in a fixed order (row sums over interleaved LaneSum partials, so they
// vectorise), so results do not depend on the thread count.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {

// y = (x - mean) * rstd * weight + bias per row, with rstd = 1 / sqrt(var + eps) and var the
// population variance (as PyTorch). weight and bias may be null (meaning 1 and 0); mean and
// rstd receive one value per row.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, std::int64_t rows,
                        std::int64_t n, double eps) {
  if (rows == 0 || n == 0) return;
  const int threads = threads_for(rows * n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && rows > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* in = x + r * n;
    T* out = y + r * n;
    LaneSum sum;
    for_each_lane(n, sum, [&](std::int64_t j) { return static_cast<double>(in[j]); });
    const double mu = sum.total() / static_cast<double>(n);
    // Two passes rather than E[x^2] - E[x]^2, which cancels catastrophically when |mean| >> std.
    LaneSum squares;
    for_each_lane(n, squares, [&](std::int64_t j) {
      const double d = static_cast<double>(in[j]) - mu;
      return d * d;
    });
    const double inv_std = 1.0 / std::sqrt(squares.total() / static_cast<double>(n) + eps);
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(inv_std);
    const T m = static_cast<T>(mu), s = static_cast<T>(inv_std);
    // One loop per case rather than tests inside the loop, so each is a plain vector loop.
    if (weight && bias) {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) out[j] = (in[j] - m) * s * weight[j] + bias[j];
    } else if (weight) {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) out[j] = (in[j] - m) * s * weight[j];
    } else if (bias) {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) out[j] = (in[j] - m) * s + bias[j];
    } else {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) out[j] = (in[j] - m) * s;
    }
  }
}

// Row blocks for the dweight/dbias partial sums. Fixed (not the thread count) so the order in
// which partials are combined, and so the rounding, is the same on every machine.
constexpr std::int64_t kLayerNormRowBlocks = 64;

// Given g = dL/dy, adds into each non-null output:
//   dx      += rstd * (g*w - mean(g*w) - xhat * mean(g*w * xhat)),  xhat = (x - mean) * rstd
//   dweight += sum over rows of g * xhat
//   dbias   += sum over rows of g
// weight may be null (meaning 1).
template <typename T>
void layer_norm_backward(const T* g, const T* x, const T* mean, const T* rstd, const T* weight, T* dx, T* dweight,
                         T* dbias, std::int64_t rows, std::int64_t n) {
  if (rows == 0 || n == 0) return;
  const std::int64_t blocks = std::min(rows, kLayerNormRowBlocks);
  const bool columns = dweight != nullptr || dbias != nullptr;
  std::vector<double> weight_partials(columns ? static_cast<std::size_t>(blocks * n) : 0, 0.0);
  std::vector<double> bias_partials(columns ? static_cast<std::size_t>(blocks * n) : 0, 0.0);
  const int threads = threads_for(rows * n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && blocks > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t first = rows * b / blocks, last = rows * (b + 1) / blocks;
    double* wp = columns ? weight_partials.data() + b * n : nullptr;
    double* bp = columns ? bias_partials.data() + b * n : nullptr;
    for (std::int64_t r = first; r < last; ++r) {
      const T* pg = g + r * n;
      const T* px = x + r * n;
      const T m = mean[r], s = rstd[r];
      if (columns) {
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) {
          const T xhat = (px[j] - m) * s;
          wp[j] += static_cast<double>(pg[j] * xhat);
          bp[j] += static_cast<double>(pg[j]);
        }
      }
      if (!dx) continue;
      // Instantiated with and without a weight so that each version is a plain vector loop.
      auto dx_row = [&](auto weighted) {
        constexpr bool kWeighted = decltype(weighted)::value;
        auto gw_at = [&](std::int64_t j) {
          if constexpr (kWeighted) return pg[j] * weight[j];
          else return pg[j];
        };
        LaneSum sum_gw, sum_gw_xhat;
        for_each_lane(n, sum_gw, [&](std::int64_t j) { return static_cast<double>(gw_at(j)); });
        for_each_lane(n, sum_gw_xhat, [&](std::int64_t j) {
          return static_cast<double>(gw_at(j)) * static_cast<double>((px[j] - m) * s);
        });
        const T mean_gw = static_cast<T>(sum_gw.total() / static_cast<double>(n));
        const T mean_gw_xhat = static_cast<T>(sum_gw_xhat.total() / static_cast<double>(n));
        T* out = dx + r * n;
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) {
          const T xhat = (px[j] - m) * s;
          out[j] += s * (gw_at(j) - mean_gw - xhat * mean_gw_xhat);
        }
      };
      if (weight) dx_row(std::true_type{});
      else dx_row(std::false_type{});
    }
  }
  if (!columns) return;
  // Partials fold into block 0 in block order: the same sum for every thread count.
  for (std::int64_t b = 1; b < blocks; ++b)
    for (std::int64_t j = 0; j < n; ++j) {
      weight_partials[j] += weight_partials[b * n + j];
      bias_partials[j] += bias_partials[b * n + j];
    }
  for (std::int64_t j = 0; j < n; ++j) {
    if (dweight) dweight[j] += static_cast<T>(weight_partials[j]);
    if (dbias) dbias[j] += static_cast<T>(bias_partials[j]);
  }
}

}  // namespace ouro::kernels
