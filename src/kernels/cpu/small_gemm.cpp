#include "ouro/kernels/cpu/small_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>

#include "ouro/kernels/cpu/register_tile.h"
#include "ouro/kernels/cpu/sanitizer_footprint.h"

namespace ouro::kernels {
namespace {

// The GotoBLAS/BLIS scheme in portable C++: op(B) is packed into panels of NR columns stored
// [k][NR], op(A) into panels of MR rows stored [k][MR], so the micro-kernel streams both
// contiguously whatever the transposes were; an MR x NR tile of C lives in a local array that
// GCC keeps in vector registers (the NR loop is the vector loop). Edge panels are zero-padded,
// so the micro-kernel always runs full tiles and only the store is trimmed.
// The tile sizes (Tiles) and multiply_add are in kernels/cpu/register_tile.h.

// Cache blocks: a KC x NC slice of packed B stays in L2 and a KC x MC slice of packed A in L1
// while the tiles sweep over them. Products on this path are small, so most fit in one block.
constexpr std::int64_t kKc = 256;
// Up to this depth a product runs as one k-block (C stored once, no second pass over it):
// products with k = 384 or 512 (an MLP's output projection, the input gradients of c_attn and
// c_fc) ran 5-7% faster on the gpt workload's shapes than in two blocks. The rule depends on k
// alone, so splitting a product over threads (by rows or by columns) never changes its blocks
// and the result stays the same for every thread count.
constexpr std::int64_t kSingleBlockK = 512;
constexpr std::int64_t kMc = 64;
constexpr std::int64_t kNc = 1024;

// Aligned scratch for the packed panels, one per thread and type, grown on demand and kept.
template <typename T>
T* scratch(std::size_t slot, std::size_t count) {
  struct Buffer {
    std::unique_ptr<T[]> storage;
    std::size_t capacity = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& buffer = buffers[slot];
  constexpr std::size_t kAlign = 64 / sizeof(T);
  if (buffer.capacity < count + kAlign) {
    buffer.capacity = std::max(count + kAlign, buffer.capacity * 2);
    buffer.storage = std::make_unique<T[]>(buffer.capacity);
  }
  T* base = buffer.storage.get();
  const auto misalign = reinterpret_cast<std::uintptr_t>(base) % 64;
  return misalign == 0 ? base : base + (64 - misalign) / sizeof(T);
}

// Where packing walks an operand row by row (op(A) transposed, op(B) not: both operands of a
// weight gradient, [batch x time, features] activations and output gradients that come from
// L3 or memory), the row kPrefetchRows ahead is asked for explicitly: rows are often more than
// a 4 KiB page apart, and the hardware prefetchers stop at page boundaries. On the gpt
// workload's weight-gradient products with operands out of L2 this made them 19-25% faster
// (c_attn, c_fc); the other products were unchanged, and prefetching the eight row streams of
// a non-transposed A made them slower, so that path has none.
constexpr std::int64_t kPrefetchRows = 8;

template <typename T>
inline void prefetch_span(const T* p, std::int64_t count) {
  for (std::int64_t offset = 0; offset < count; offset += 64 / static_cast<std::int64_t>(sizeof(T)))
    __builtin_prefetch(p + offset);
}

// `count` rows of a row-major matrix (row r at src + r * ld, `width` values each) into
// ceil(width / W) panels, each [count][W], zero-padded: op(A) when A is transposed, op(B) when
// B is not. Row by row: each row is read once, contiguously, and dealt out W values at a time
// to the panels. (Panel by panel, every row would be visited width / W times for W values each,
// a strided walk the prefetchers do not follow: in a weight gradient, whose operands are
// [batch x time, features] activations and output gradients, that walk stalled on memory.)
// With `sums`, each column of the rows is also added into sums[column] (rows in order).
template <typename T, int W>
void pack_rows(const T* src, std::int64_t ld, std::int64_t count, std::int64_t width, T* out, T* sums) {
  for (std::int64_t r = 0; r < count; ++r) {
    const T* row = src + r * ld;
    if (r + kPrefetchRows < count) prefetch_span(row + kPrefetchRows * ld, width);
    for (std::int64_t j0 = 0; j0 < width; j0 += W) {
      const std::int64_t cols = std::min<std::int64_t>(W, width - j0);
      T* dst = out + j0 * count + r * W;
      if (cols == W) {
#pragma omp simd
        for (int j = 0; j < W; ++j) dst[j] = row[j0 + j];
      } else {
        for (std::int64_t j = 0; j < cols; ++j) dst[j] = row[j0 + j];
        for (std::int64_t j = cols; j < W; ++j) dst[j] = T(0);
      }
    }
    if (sums) {
#pragma omp simd
      for (std::int64_t j = 0; j < width; ++j) sums[j] += row[j];
    }
  }
}

// op(A)[rows ic.., cols pc..] (mc x kc) into ceil(mc / MR) panels, each [kc][MR].
// With `sums`, also adds each packed row of op(A) into sums[i] (p in order: called for the
// k-blocks in order, it gives each row's sum over all of k, as a plain loop would).
template <typename T, int MR>
void pack_a(bool transpose, const T* a, std::int64_t lda, std::int64_t ic, std::int64_t pc, std::int64_t mc,
            std::int64_t kc, T* out, T* sums) {
  if (transpose) {  // op(A)(i, p) = A[p, i]: row p of A holds op(A)'s column p
    pack_rows<T, MR>(a + pc * lda + ic, lda, kc, mc, out, sums);
    return;
  }
  for (std::int64_t i0 = 0; i0 < mc; i0 += MR) {
    const std::int64_t rows = std::min<std::int64_t>(MR, mc - i0);
    T* panel = out + i0 * kc;
    if (rows == MR) {  // op(A)(i, p) = A[i, p]: MR rows, each contiguous in p
      // p outermost: the panel is written in order (MR values per p) while the MR rows are
      // read as MR sequential streams; row by row, every write would be a stride-MR scatter.
      const T* src[MR];
      for (int i = 0; i < MR; ++i) src[i] = a + (ic + i0 + i) * lda + pc;
      for (std::int64_t p = 0; p < kc; ++p)
        for (int i = 0; i < MR; ++i) panel[p * MR + i] = src[i][p];
      if (sums)
        for (int i = 0; i < MR; ++i)
          for (std::int64_t p = 0; p < kc; ++p) sums[i0 + i] += src[i][p];
    } else {
      for (std::int64_t i = 0; i < rows; ++i) {
        const T* src = a + (ic + i0 + i) * lda + pc;
        for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + i] = src[p];
        if (sums)
          for (std::int64_t p = 0; p < kc; ++p) sums[i0 + i] += src[p];
      }
      for (std::int64_t i = rows; i < MR; ++i)
        for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + i] = T(0);
    }
  }
}

// op(B)[rows pc.., cols jc..] (kc x nc) into ceil(nc / NR) panels, each [kc][NR].
template <typename T, int NR>
void pack_b(bool transpose, const T* b, std::int64_t ldb, std::int64_t pc, std::int64_t jc, std::int64_t kc,
            std::int64_t nc, T* out) {
  if (!transpose) {  // op(B)(p, j) = B[p, j]: row p of B holds op(B)'s row p
    pack_rows<T, NR>(b + pc * ldb + jc, ldb, kc, nc, out, nullptr);
    return;
  }
  for (std::int64_t j0 = 0; j0 < nc; j0 += NR) {
    const std::int64_t cols = std::min<std::int64_t>(NR, nc - j0);
    T* panel = out + j0 * kc;
    if (cols == NR) {  // op(B)(p, j) = B[j, p]: NR columns, each contiguous in p
      // p outermost, as in pack_a: the panel written in order, NR sequential read streams.
      const T* src[NR];
      for (int j = 0; j < NR; ++j) src[j] = b + (jc + j0 + j) * ldb + pc;
      for (std::int64_t p = 0; p < kc; ++p)
        for (int j = 0; j < NR; ++j) panel[p * NR + j] = src[j][p];
    } else {
      for (std::int64_t j = 0; j < cols; ++j) {
        const T* src = b + (jc + j0 + j) * ldb + pc;
        for (std::int64_t p = 0; p < kc; ++p) panel[p * NR + j] = src[p];
      }
      for (std::int64_t j = cols; j < NR; ++j)
        for (std::int64_t p = 0; p < kc; ++p) panel[p * NR + j] = T(0);
    }
  }
}

// The MR x NR tile C = alpha * (packed A panel @ packed B panel) + beta * C, its sums taken
// over p in order. beta == 0 writes without reading C (BLAS: old NaNs do not survive). A
// non-null bias (only with beta == 0) is added to every row as the tile is stored: C = alpha *
// AB + bias, one rounding as if C had held the bias and beta were 1, without that extra pass.
// Whole tiles only, so the accumulators are indexed by constants alone and GCC keeps them in
// registers: with a store bounded at run time here, it also kept a copy of the tile in memory
// and zeroed it (rep stos, 1 KiB) on every call. Tiles cut by C's edge go through store_edge.
// Under ASan its footprint (both panels, the rows of the C tile) is checked once per call
// rather than at each access (kernels/cpu/sanitizer_footprint.h).
template <typename T, int MR, int NR>
OURO_FOOTPRINT_CHECKED void micro_kernel(std::int64_t kc, const T* __restrict ap, const T* __restrict bp, T alpha,
                                             T beta, T* __restrict c, std::int64_t ldc, const T* __restrict bias) {
  check_footprint(ap, static_cast<std::size_t>(kc * MR) * sizeof(T));
  check_footprint(bp, static_cast<std::size_t>(kc * NR) * sizeof(T));
  for (int i = 0; i < MR; ++i) check_footprint(c + i * ldc, static_cast<std::size_t>(NR) * sizeof(T));
  T acc[MR][NR];
  for (int i = 0; i < MR; ++i)
#pragma omp simd
    for (int j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (std::int64_t p = 0; p < kc; ++p) {
    const T* a = ap + p * MR;
    const T* b = bp + p * NR;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const T ai = a[i];
#pragma omp simd
      for (int j = 0; j < NR; ++j) acc[i][j] = multiply_add(ai, b[j], acc[i][j]);
    }
  }
  if (bias) check_footprint(bias, static_cast<std::size_t>(NR) * sizeof(T));
  for (int i = 0; i < MR; ++i) {
    T* row = c + i * ldc;
    if (bias) {
#pragma omp simd
      for (int j = 0; j < NR; ++j) row[j] = alpha * acc[i][j] + bias[j];
    } else if (beta == T(0)) {
#pragma omp simd
      for (int j = 0; j < NR; ++j) row[j] = alpha * acc[i][j];
    } else if (beta == T(1)) {
#pragma omp simd
      for (int j = 0; j < NR; ++j) row[j] += alpha * acc[i][j];
    } else {
#pragma omp simd
      for (int j = 0; j < NR; ++j) row[j] = alpha * acc[i][j] + beta * row[j];
    }
  }
}

// C[0:rows, 0:cols] of a tile cut by C's edge, from `edge` = alpha * AB as micro_kernel
// computed it into a whole tile of its own (beta 0, no bias): the same roundings, so the
// same values as a whole tile's.
template <typename T, int NR>
void store_edge(const T* edge, T beta, T* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const T* bias) {
  for (std::int64_t i = 0; i < rows; ++i) {
    T* row = c + i * ldc;
    for (std::int64_t j = 0; j < cols; ++j) {
      const T value = edge[i * NR + j];
      row[j] = bias         ? value + bias[j]
               : beta == T(0) ? value
               : beta == T(1) ? row[j] + value
                              : value + beta * row[j];
    }
  }
}

template <typename T>
void scale_rows(std::int64_t m, std::int64_t n, T beta, T* c, std::int64_t ldc) {
  if (beta == T(1)) return;
  for (std::int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T(0))
      std::fill_n(row, n, T(0));
    else
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

template <typename T, int MR = Tiles<T>::mr, int NR = Tiles<T>::nr>
void small_gemm_impl(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                     const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                     const T* bias, T* a_row_sums) {
  if (a_row_sums) {
    std::fill_n(a_row_sums, std::max<std::int64_t>(m, 0), T(0));
    if (n <= 0 || alpha == T(0))  // A is not packed below: sum it here
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t p = 0; p < k; ++p) a_row_sums[i] += transpose_a ? a[p * lda + i] : a[i * lda + p];
  }
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {  // BLAS: C = beta * C, A and B not read
    scale_rows(m, n, beta, c, ldc);
    if (bias)
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] += bias[j];
    return;
  }
  const std::int64_t kc_block = k <= kSingleBlockK ? k : kKc;
  const std::int64_t kc_max = std::min(k, kc_block);
  const std::int64_t nc_max = std::min(n, kNc);
  const std::int64_t mc_max = std::min(m, kMc);
  T* packed_b = scratch<T>(0, static_cast<std::size_t>(kc_max * ((nc_max + NR - 1) / NR) * NR));
  T* packed_a = scratch<T>(1, static_cast<std::size_t>(kc_max * ((mc_max + MR - 1) / MR) * MR));
  for (std::int64_t jc = 0; jc < n; jc += kNc) {
    const std::int64_t nc = std::min(kNc, n - jc);
    for (std::int64_t pc = 0; pc < k; pc += kc_block) {
      const std::int64_t kc = std::min(kc_block, k - pc);
      // Later k-blocks add to what the first one wrote: beta applies once.
      const T block_beta = pc == 0 ? beta : T(1);
      pack_b<T, NR>(transpose_b, b, ldb, pc, jc, kc, nc, packed_b);
      for (std::int64_t ic = 0; ic < m; ic += kMc) {
        const std::int64_t mc = std::min(kMc, m - ic);
        pack_a<T, MR>(transpose_a, a, lda, ic, pc, mc, kc, packed_a,
                      a_row_sums && jc == 0 ? a_row_sums + ic : nullptr);
        for (std::int64_t jr = 0; jr < nc; jr += NR) {
          const std::int64_t cols = std::min<std::int64_t>(NR, nc - jr);
          for (std::int64_t ir = 0; ir < mc; ir += MR) {
            const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
            T* const tile_c = c + (ic + ir) * ldc + jc + jr;
            const T* const tile_bias = bias && pc == 0 ? bias + jc + jr : nullptr;
            if (rows == MR && cols == NR) {
              micro_kernel<T, MR, NR>(kc, packed_a + ir * kc, packed_b + jr * kc, alpha, block_beta, tile_c, ldc,
                                      tile_bias);
            } else {
              alignas(64) T edge[MR * NR];
              micro_kernel<T, MR, NR>(kc, packed_a + ir * kc, packed_b + jr * kc, alpha, T(0), edge, NR, nullptr);
              store_edge<T, NR>(edge, block_beta, tile_c, ldc, rows, cols, tile_bias);
            }
          }
        }
      }
    }
  }
}

}  // namespace

void small_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                std::int64_t ldc, const float* bias, float* a_row_sums) {
  small_gemm_impl(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
}

void small_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
                std::int64_t ldc, const double* bias, double* a_row_sums) {
  small_gemm_impl(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
}

}  // namespace ouro::kernels
