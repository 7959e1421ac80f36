// GEMM: C = alpha * op(A) @ op(B) + beta * C, row-major, with the transposes never
// materialised: small products in ouro's own kernel (small_gemm.h), the rest through OpenBLAS.
// A bias (length n; only with beta 0) is added to every row of C: a linear layer's output in
// one pass, rounded as if C had been filled with the bias and beta were 1. a_row_sums (length
// m), when given, receives each row of op(A) summed over k in order (in chunks for the products
// reduced_in_chunks picks; see small_gemm.h).
#pragma once
#include <cstdint>

namespace ouro::kernels {

// Products whose k dwarfs m and n (a weight gradient: k = batch x time) are summed over k in
// chunks of kReductionChunk, each chunk in order, the chunk sums then added in order (on the
// path that does not go to OpenBLAS; see gemm.cpp). The rule depends on the shape alone.
constexpr std::int64_t kReductionChunk = 1024;
inline bool reduced_in_chunks(std::int64_t m, std::int64_t n, std::int64_t k) {
  return k >= 2 * kReductionChunk && k >= 4 * (m > n ? m : n);
}

void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc,
          const float* bias = nullptr, float* a_row_sums = nullptr);
void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c,
          std::int64_t ldc, const double* bias = nullptr, double* a_row_sums = nullptr);

}  // namespace ouro::kernels
