#include "ouro/kernels/cpu/gemm.h"

#include <cblas.h>

#include "ouro/kernels/cpu/parallel.h"

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

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  choose_blas_threads(m, n, k);
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  choose_blas_threads(m, n, k);
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace ouro::kernels
