// ouro's own single-threaded GEMM for small products: C = alpha * op(A) @ op(B) + beta * C,
// row-major, same arguments and BLAS semantics as kernels::gemm (beta 0 ignores C's old
// contents, NaN included; alpha 0 or k 0 reads neither A nor B), with a fixed summation order
// over k for a given shape. A bias (length n, only with beta 0) is added to every row of C.
// a_row_sums (length m), when given, receives each row of op(A) summed over k in order,
// computed while A is packed (a linear layer's bias gradient, taken from the pass that packs
// the output gradient for the weight gradient).
#pragma once
#include <cstdint>

namespace ouro::kernels {

// kernels::gemm sends a product here when m * n * k is at most this (and to OpenBLAS above
// it). Measured with bench/bench_small_gemm.cpp against OpenBLAS 0.3.21 on one thread; see
// the comment at its use in src/kernels/cpu/gemm.cpp.
constexpr std::int64_t kSmallGemmMaxWork = std::int64_t{1} << 21;

inline bool use_small_gemm(std::int64_t m, std::int64_t n, std::int64_t k) {
  // Written as divisions so that huge sizes cannot overflow the product.
  return m <= kSmallGemmMaxWork && n <= kSmallGemmMaxWork && k <= kSmallGemmMaxWork &&
         (m == 0 || n == 0 || k <= kSmallGemmMaxWork / m / n);
}

void small_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                std::int64_t ldc, const float* bias = nullptr, float* a_row_sums = nullptr);
void small_gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
                std::int64_t ldc, const double* bias = nullptr, double* a_row_sums = nullptr);

}  // namespace ouro::kernels
