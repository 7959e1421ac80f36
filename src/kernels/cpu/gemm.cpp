#include "ouro/kernels/cpu/gemm.h"

#include <cblas.h>

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

}  // namespace

// Products with m * n * k <= kSmallGemmMaxWork (2^21) run in ouro's own kernel on the calling
// thread. Debian's OpenBLAS 0.3.21 does not know recent Intel cores and falls back to its SSE3
// Prescott kernels, which the small kernel beats 2-4x on one thread at every size measured
// (bench/bench_small_gemm.cpp); up to 2^21 OpenBLAS would run on one thread anyway
// (kParallelFlops), so above it the configured threads go to OpenBLAS, which also keeps large
// products fast on machines whose OpenBLAS has a native kernel.
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (use_small_gemm(m, n, k)) return small_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  choose_blas_threads(m, n, k);
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (use_small_gemm(m, n, k)) return small_gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  choose_blas_threads(m, n, k);
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace ouro::kernels
