#include "ouro/kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <string_view>

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

// C split into one block per thread, each computed by small_gemm: along m in multiples of 8
// rows when m >= n, else along n in multiples of 32 columns (the kernel's tile sizes). Each
// element is summed over k in the same order whatever the split, so the result does not even
// depend on the thread count.
template <typename T>
void split_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc,
                const T* bias, T* a_row_sums) {
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
template <typename T>
void sum_rows_of_op_a(bool transpose_a, std::int64_t m, std::int64_t k, const T* a, std::int64_t lda, T* sums) {
  const int threads = threads_for(m * k);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < m; ++i) {
    T sum = 0;
    for (std::int64_t p = 0; p < k; ++p) sum += transpose_a ? a[p * lda + i] : a[i * lda + p];
    sums[i] = sum;
  }
}

}  // namespace

// Products with m * n * k <= kSmallGemmMaxWork (2^21) run in ouro's own kernel on the calling
// thread. Debian's OpenBLAS 0.3.21 does not know recent Intel cores and falls back to its SSE3
// Prescott kernels, which the small kernel beats 2-4x on one thread at every size measured
// (bench/bench_small_gemm.cpp); up to 2^21 OpenBLAS would run on one thread anyway
// (kParallelFlops). Above it the configured threads go to OpenBLAS where it has a native
// kernel for this CPU, and to the small kernel split over the threads where it has only the
// Prescott fallback (blas_is_fallback).
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const float* bias, float* a_row_sums) {
  if (m == 0 || n == 0) {
    if (a_row_sums) sum_rows_of_op_a(transpose_a, m, k, a, lda, a_row_sums);
    return;
  }
  if (use_small_gemm(m, n, k))
    return small_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (blas_is_fallback())
    return split_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (a_row_sums) sum_rows_of_op_a(transpose_a, m, k, a, lda, a_row_sums);
  if (bias) {
    fill_rows_with_bias(m, n, bias, c, ldc);
    beta = 1;
  }
  choose_blas_threads(m, n, k);
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc, const double* bias, double* a_row_sums) {
  if (m == 0 || n == 0) {
    if (a_row_sums) sum_rows_of_op_a(transpose_a, m, k, a, lda, a_row_sums);
    return;
  }
  if (use_small_gemm(m, n, k))
    return small_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (blas_is_fallback())
    return split_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, a_row_sums);
  if (a_row_sums) sum_rows_of_op_a(transpose_a, m, k, a, lda, a_row_sums);
  if (bias) {
    fill_rows_with_bias(m, n, bias, c, ldc);
    beta = 1;
  }
  choose_blas_threads(m, n, k);
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace ouro::kernels
