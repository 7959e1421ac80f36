// Embedding lookup: gathering rows of a [V, D] table by index, and the backward that
// scatter-adds gradient rows back into the table. Indices are assumed already checked to lie
// in [0, V). The backward adds rows in index order, so repeated indices sum deterministically.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ouro/kernels/cpu/parallel.h"

namespace ouro::kernels {

// out[i, :] = weight[indices[i], :] for i < count; weight and out contiguous with row length d.
template <typename T>
void embedding_forward(const T* weight, const std::int64_t* indices, T* out, std::int64_t count, std::int64_t d) {
  const int threads = threads_for(count * d);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && count > 1)
  for (std::int64_t i = 0; i < count; ++i) std::copy_n(weight + indices[i] * d, d, out + i * d);
}

// grad_weight[indices[i], :] += grad_out[i, :]. Threads split the columns, never the indices,
// so each output element is summed by one thread in index order.
template <typename T>
void embedding_backward(const T* grad_out, const std::int64_t* indices, T* grad_weight, std::int64_t count,
                        std::int64_t d) {
  constexpr std::int64_t kColumnBlock = 64;
  const std::int64_t blocks = (d + kColumnBlock - 1) / kColumnBlock;
  const int threads = threads_for(count * d);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && blocks > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t first = b * kColumnBlock, last = std::min(d, first + kColumnBlock);
    for (std::int64_t i = 0; i < count; ++i) {
      const T* src = grad_out + i * d;
      T* dst = grad_weight + indices[i] * d;
      for (std::int64_t j = first; j < last; ++j) dst[j] += src[j];
    }
  }
}

}  // namespace ouro::kernels
