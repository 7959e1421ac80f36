#include "ouro/kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/small_gemm.h"

namespace ouro::kernels {
namespace {

// Small products (a training step of a small MLP is all of them) run on one thread: waking a
// second one costs more than it saves, and on a loaded machine it costs milliseconds. Above
// the threshold OpenBLAS gets the configured thread count. The choice depends only on the
// sizes, so results stay reproducible for a given OURO_NUM_THREADS.
constexpr double kParallelFlops = 4.0e6;

void choose_blas_threads(std::int64_t m, std::int64_t n, std::int64_t k) {
  const int wanted = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < kParallelFlops
                         ? 1
                         : num_threads();
  set_blas_threads(wanted);
}

// True when OpenBLAS runs its generic Prescott (SSE3) kernels, as Debian's 0.3.21 does on
// cores it does not know (Sapphire Rapids among them). The small kernel then beats it 2-4x on
// one thread at large sizes too (bench/bench_small_gemm.cpp, the lstm workload's shapes), so
// large products also stay in ouro's kernel, split over the threads.
bool blas_is_fallback() {
  static const bool fallback = [] {
    const char* core = openblas_get_corename();
    return core == nullptr || std::string_view(core) == "Prescott";
  }();
  return fallback;
}

// A reduction-shaped product (reduced_in_chunks: a weight gradient, k = batch x time) is cut
// along k into chunks of kReductionChunk. Each chunk's product is computed whole, by one
// thread, into a buffer of its own, and the buffers are added to C in chunk order. The threads
// split the chunks rather than C: each reads only its share of both operands, where split by
// rows every thread would read (and pack) all of B. The chunks depend on k alone, so one
// thread or several add the same chunks in the same order: the same bits.
template <typename T>
void chunked_reduction_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                            T alpha, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                            std::int64_t ldc, T* a_row_sums) {
  const std::int64_t chunks = (k + kReductionChunk - 1) / kReductionChunk;
  // The chunks' buffers belong to the calling thread and are kept: a training step makes these
  // products every step, and fresh allocations of this size would be fresh pages each time.
  thread_local std::vector<T> partial_buffer, partial_sums_buffer;
  partial_buffer.resize(static_cast<std::size_t>(chunks * m * n));
  if (a_row_sums) partial_sums_buffer.resize(static_cast<std::size_t>(chunks * m));
  T* const partial = partial_buffer.data();
  T* const partial_sums = partial_sums_buffer.data();
  const int threads = static_cast<int>(std::min<std::int64_t>(num_threads(), chunks));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const std::int64_t p0 = chunk * kReductionChunk, depth = std::min(kReductionChunk, k - p0);
    small_gemm(transpose_a, transpose_b, m, n, depth, alpha, transpose_a ? a + p0 * lda : a + p0, lda,
               transpose_b ? b + p0 : b + p0 * ldb, ldb, T(0), partial + chunk * m * n, n, nullptr,
               a_row_sums ? partial_sums + chunk * m : nullptr);
  }
  // C = ((beta C + P_0) + P_1) + ..., row by row over the threads.
  const int combine_threads = threads_for(m * n);
#pragma omp parallel for schedule(static) num_threads(combine_threads) if (combine_threads > 1)
  for (std::int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    const T* first = partial + i * n;
    if (beta == T(0)) {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) row[j] = first[j];
    } else {
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) row[j] = beta * row[j] + first[j];
    }
    for (std::int64_t chunk = 1; chunk < chunks; ++chunk) {
      const T* more = partial + chunk * m * n + i * n;
#pragma omp simd
      for (std::int64_t j = 0; j < n; ++j) row[j] += more[j];
    }
  }
  if (a_row_sums)
    for (std::int64_t i = 0; i < m; ++i) {
      T sum = partial_sums[i];
      for (std::int64_t chunk = 1; chunk < chunks; ++chunk) sum += partial_sums[chunk * m + i];
      a_row_sums[i] = sum;
    }
}

// C split into one block per thread, each computed by small_gemm: along m in multiples of 8
// rows when m >= n, else along n in multiples of 32 columns (the kernel's tile sizes). Each
// element is summed over k in the same order whatever the split, so the result does not even
// depend on the thread count.
template <typename T>
void split_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                const T* bias, T* a_row_sums) {
  if (!bias && reduced_in_chunks(m, n, k))
    return chunked_reduction_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, a_row_sums);
  const int threads = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < kParallelFlops
                          ? 1
                          : num_threads();
  const bool by_rows = m >= n;
  const std::int64_t unit = by_rows ? 8 : 32;
  const std::int64_t units = ((by_rows ? m : n) + unit - 1) / unit;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const std::int64_t parts = omp_get_num_threads(), part = omp_get_thread_num();
    const std::int64_t extent = by_rows ? m : n;
    const std::int64_t first = std::min(extent, units * part / parts * unit);
    const std::int64_t last = std::min(extent, units * (part + 1) / parts * unit);
    if (last > first) {
      if (by_rows)
        small_gemm(transpose_a, transpose_b, last - first, n, k, alpha, transpose_a ? a + first : a + first * lda,
                   lda, b, ldb, beta, c + first * ldc, ldc, bias, a_row_sums ? a_row_sums + first : nullptr);
      else  // every block packs all of A: the first one sums it
        small_gemm(transpose_a, transpose_b, m, last - first, k, alpha, a, lda,
                   transpose_b ? b + first * ldb : b + first, ldb, beta, c + first, ldc,
                   bias ? bias + first : nullptr, part == 0 ? a_row_sums : nullptr);
    }
  }
}

// OpenBLAS has no bias argument: C's rows are set to the bias first (split over the threads
// like the product), and the product is added to them.
template <typename T>
void fill_rows_with_bias(std::int64_t m, std::int64_t n, const T* bias, T* c, std::int64_t ldc) {
  const int threads = threads_for(m * n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < m; ++i) std::copy_n(bias, n, c + i * ldc);
}

// OpenBLAS does not see A's rows one at a time: their sums are taken in a pass of their own.
// Summed as gemm.h promises: in order, chunk by chunk where reduced_in_chunks(m, n, k).
template <typename T>
void sum_rows_of_op_a(bool transpose_a, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
                      T* sums) {
  const std::int64_t chunk = reduced_in_chunks(m, n, k) ? kReductionChunk : std::max<std::int64_t>(k, 1);
  const int threads = threads_for(m * k);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < m; ++i) {
    T total = 0;
    for (std::int64_t p0 = 0; p0 < k; p0 += chunk) {
      T sum = 0;
      for (std::int64_t p = p0; p < std::min(k, p0 + chunk); ++p) sum += transpose_a ? a[p * lda + i] : a[i * lda + p];
      total = p0 == 0 ? sum : total + sum;
    }
    sums[i] = total;
  }
}

// cblas_sgemm / cblas_dgemm under one name, so that gemm_impl is written once for both types.
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha, const float* a,
               blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha, const double* a,
               blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Products with m * n * k <= kSmallGemmMaxWork (2^21) run in ouro's own kernel on the calling
// thread. Debian's OpenBLAS 0.3.21 does not know recent Intel cores and falls back to its SSE3
// Prescott kernels, which the small kernel beats 2-4x on one thread at every size measured
// (bench/bench_small_gemm.cpp); up to 2^21 OpenBLAS would run on one thread anyway
// (kParallelFlops). Above it the configured threads go to OpenBLAS where it has a native
// kernel for this CPU, and to the small kernel split over the threads where it has only the
// Prescott fallback (blas_is_fallback).
template <typename T>
void gemm_impl(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
               const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
               const T* bias, T* a_row_sums) {
  if (m == 0 || n == 0) {
    if (a_row_sums) sum_rows_of_op_a(transpose_a, m, n, k, a, lda, a_row_sums);
    return;
  }
  if (use_small_gemm(m, n, k))
    return small_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (blas_is_fallback())
    return split_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (a_row_sums) sum_rows_of_op_a(transpose_a, m, n, k, a, lda, a_row_sums);
  if (bias) {
    fill_rows_with_bias(m, n, bias, c, ldc);
    beta = 1;
  }
  choose_blas_threads(m, n, k);
  blas_gemm(transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
            static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
            static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const float* bias, float* a_row_sums) {
  gemm_impl(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc, const double* bias, double* a_row_sums) {
  gemm_impl(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
}

}  // namespace ouro::kernels
