// Elementwise kernels: a function applied per element, over contiguous arrays or over
// broadcast/strided operands. Parallel above kParallelGrain elements, split statically.
#pragma once
#include <array>
#include <cstdint>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/strided.h"

namespace ouro::kernels {

// y[i] = f(x[i])
template <typename T, typename U, typename F>
void unary_map(const T* x, U* y, std::int64_t n, F f) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// out[i] = f(a[i], b[i]) with all three contiguous.
template <typename T, typename F>
void binary_map(const T* a, const T* b, T* out, std::int64_t n, F f) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

// out (contiguous, `shape`) = f(a, b), a and b read through their own strides (0 where broadcast).
template <typename T, typename F>
void binary_map_strided(std::int64_t rank, const std::int64_t* shape, const T* a, const std::int64_t* a_strides,
                        const T* b, const std::int64_t* b_strides, T* out, F f) {
  std::vector<std::int64_t> out_strides(static_cast<std::size_t>(rank));
  std::int64_t stride = 1;
  for (std::int64_t d = rank - 1; d >= 0; --d) {
    out_strides[d] = stride;
    stride *= shape[d];
  }
  if (stride == 0) return;
  const auto layout = merge_dimensions<3>(rank, shape, {out_strides.data(), a_strides, b_strides});
  for_each_row(layout, [&](const std::array<std::int64_t, 3>& off, std::int64_t n, const std::array<std::int64_t, 3>& st) {
    T* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    if (st[1] == 1 && st[2] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    } else if (st[1] == 1 && st[2] == 0) {
      const T vb = *pb;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], vb);
    } else if (st[1] == 0 && st[2] == 1) {
      const T va = *pa;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(va, pb[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i * st[1]], pb[i * st[2]]);
    }
  });
}

// dst[i] += src[i]: how backward kernels accumulate.
template <typename T>
void add_into(T* dst, const T* src, std::int64_t n) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace ouro::kernels

namespace ouro::kernels {

// out[i] += f(a[i], b[i]): the shape of most backward kernels (gradient times a local derivative).
template <typename T, typename F>
void binary_accumulate(const T* a, const T* b, T* out, std::int64_t n, F f) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) out[i] += f(a[i], b[i]);
}

// out[i] += f(a[i], b[i], c[i])
template <typename T, typename F>
void ternary_accumulate(const T* a, const T* b, const T* c, T* out, std::int64_t n, F f) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) out[i] += f(a[i], b[i], c[i]);
}

}  // namespace ouro::kernels

namespace ouro::kernels {

// dst[...] = src[...] (assign) or dst[...] += src[...] (accumulate), both read and written
// through their own strides over `shape`. Used by views' backward (a slice's gradient lands
// in a strided window of the input's gradient) and by concat.
template <typename T, bool Accumulate>
void strided_transfer(std::int64_t rank, const std::int64_t* shape, T* dst, const std::int64_t* dst_strides,
                      const T* src, const std::int64_t* src_strides) {
  std::int64_t n = 1;
  for (std::int64_t d = 0; d < rank; ++d) n *= shape[d];
  if (n == 0) return;
  const auto layout = merge_dimensions<2>(rank, shape, {dst_strides, src_strides});
  for_each_row(layout, [&](const std::array<std::int64_t, 2>& off, std::int64_t len, const std::array<std::int64_t, 2>& st) {
    T* o = dst + off[0];
    const T* in = src + off[1];
    for (std::int64_t i = 0; i < len; ++i) {
      if constexpr (Accumulate) o[i * st[0]] += in[i * st[1]];
      else o[i * st[0]] = in[i * st[1]];
    }
  });
}

}  // namespace ouro::kernels
