#include "ouro/kernels/cpu/small_gemm.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/kernels/cpu/gemm.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/sanitizer_footprint.h"
#include "sanitized_build.h"

namespace ouro::testing {
namespace {

struct Case {
  bool transpose_a, transpose_b;
  std::int64_t m, n, k;
  double alpha, beta;
  std::int64_t pad = 0;  // added to each leading dimension beyond its minimum
};

std::string describe(const Case& c) {
  return std::string(c.transpose_a ? "T" : "N") + (c.transpose_b ? "T" : "N") + " m=" + std::to_string(c.m) +
         " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta) + " pad=" + std::to_string(c.pad);
}

// Row-major storage of op(A) [m, k] / op(B) [k, n]: a stored matrix of `rows` x `cols` with
// leading dimension ld. Padding between rows is NaN, so a kernel that reads past a row's end
// poisons its result; C's padding is a sentinel checked afterwards.
template <typename T>
struct Operands {
  std::int64_t lda, ldb, ldc;
  std::vector<T> a, b, c, c_before;
};

template <typename T>
Operands<T> make_operands(const Case& c, std::mt19937& rng, bool nan_c) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  Operands<T> ops;
  const std::int64_t a_rows = c.transpose_a ? c.k : c.m, a_cols = c.transpose_a ? c.m : c.k;
  const std::int64_t b_rows = c.transpose_b ? c.n : c.k, b_cols = c.transpose_b ? c.k : c.n;
  ops.lda = a_cols + c.pad;
  ops.ldb = b_cols + c.pad;
  ops.ldc = c.n + c.pad;
  auto fill = [&](std::vector<T>& v, std::int64_t rows, std::int64_t cols, std::int64_t ld, T padding) {
    v.assign(static_cast<std::size_t>(std::max<std::int64_t>(rows * ld, 1)), padding);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t col = 0; col < cols; ++col) v[r * ld + col] = static_cast<T>(uniform(rng));
  };
  fill(ops.a, a_rows, a_cols, ops.lda, nan);
  fill(ops.b, b_rows, b_cols, ops.ldb, nan);
  fill(ops.c, c.m, c.n, ops.ldc, T(12345));
  if (nan_c)
    for (std::int64_t r = 0; r < c.m; ++r)
      for (std::int64_t col = 0; col < c.n; ++col) ops.c[r * ops.ldc + col] = nan;
  ops.c_before = ops.c;
  return ops;
}

// Checks `got` against alpha * op(A) @ op(B) + beta * C_before summed in double, each element
// within a bound proportional to the sum of the magnitudes of its terms (the usual dot-product
// error bound, with room for the k-blocking's extra rounding).
template <typename T>
void expect_matches_naive(const Case& c, const Operands<T>& ops, const std::vector<T>& got) {
  const double eps = std::numeric_limits<T>::epsilon();
  int failures = 0;
  for (std::int64_t i = 0; i < c.m; ++i) {
    for (std::int64_t j = 0; j < c.n; ++j) {
      double sum = 0, magnitude = 0;
      if (c.alpha != 0) {
        for (std::int64_t p = 0; p < c.k; ++p) {
          const double a = ops.a[c.transpose_a ? p * ops.lda + i : i * ops.lda + p];
          const double b = ops.b[c.transpose_b ? j * ops.ldb + p : p * ops.ldb + j];
          sum += a * b;
          magnitude += std::abs(a * b);
        }
      }
      double expected = c.alpha * sum;
      magnitude = std::abs(c.alpha) * magnitude;
      if (c.beta != 0) {
        const double old = ops.c_before[i * ops.ldc + j];
        expected += c.beta * old;
        magnitude += std::abs(c.beta * old);
      }
      const double value = got[i * ops.ldc + j];
      const double tolerance = 4.0 * eps * static_cast<double>(c.k + 2) * magnitude + 1e-300;
      if (!(std::abs(value - expected) <= tolerance) && ++failures <= 5)
        ADD_FAILURE() << describe(c) << ": C[" << i << "," << j << "] = " << value << ", expected " << expected
                      << " (tolerance " << tolerance << ")";
    }
    for (std::int64_t j = c.n; j < ops.ldc && i * ops.ldc + j < static_cast<std::int64_t>(got.size()); ++j)
      if (got[i * ops.ldc + j] != T(12345) && ++failures <= 5)
        ADD_FAILURE() << describe(c) << ": wrote into C's padding at row " << i << ", column " << j;
  }
}

template <typename T>
void run_small(const Case& c, std::mt19937& rng) {
  const bool nan_c = c.beta == 0;
  Operands<T> ops = make_operands<T>(c, rng, nan_c);
  kernels::small_gemm(c.transpose_a, c.transpose_b, c.m, c.n, c.k, static_cast<T>(c.alpha), ops.a.data(), ops.lda,
                      ops.b.data(), ops.ldb, static_cast<T>(c.beta), ops.c.data(), ops.ldc);
  expect_matches_naive(c, ops, ops.c);
}

// Odd sizes (primes, one either side of the 8 x 32 tile and of 64), every transpose pair,
// padded and tight leading dimensions, and alpha/beta including beta = 0 over a NaN-filled C.
std::vector<Case> small_cases() {
  const std::int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 13, 17, 31, 32, 33, 37, 47, 63, 64, 65, 70};
  const double scalars[][2] = {{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0.25}, {2, 0}};
  std::vector<Case> cases;
  std::mt19937 pick(11);
  std::uniform_int_distribution<std::size_t> size_index(0, std::size(sizes) - 1);
  int counter = 0;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (std::int64_t m : sizes) {
        for (std::int64_t n : sizes) {
          // Every (m, n) pair, with k and the scalars cycling so every k and pair is covered.
          const std::int64_t k = sizes[size_index(pick)];
          const auto& s = scalars[counter % std::size(scalars)];
          cases.push_back({ta, tb, m, n, k, s[0], s[1], (counter % 3 == 0) ? 0 : counter % 5 + 1});
          ++counter;
        }
      }
      for (std::int64_t k : sizes) cases.push_back({ta, tb, 9, 33, k, 1, 1, 2});
    }
  }
  return cases;
}

TEST(SmallGemm, FloatMatchesNaiveLoopOverOddSizesTransposesAndScalars) {
  std::mt19937 rng(1);
  for (const Case& c : small_cases()) run_small<float>(c, rng);
}

TEST(SmallGemm, DoubleMatchesNaiveLoopOverOddSizesTransposesAndScalars) {
  std::mt19937 rng(2);
  for (const Case& c : small_cases()) run_small<double>(c, rng);
}

TEST(SmallGemm, CrossesEveryCacheBlock) {
  // k above the 256-deep k-block (beta must apply once, not per block), m above the 64-row
  // block, n above the 1024-column block.
  std::mt19937 rng(3);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (double beta : {0.0, 1.0, -0.5}) {
        run_small<float>({ta, tb, 70, 37, 600, 1.25, beta, 3}, rng);
        run_small<double>({ta, tb, 130, 9, 513, -1, beta, 0}, rng);
        run_small<float>({ta, tb, 3, 1100, 5, 1, beta, 1}, rng);
      }
    }
  }
}

TEST(SmallGemm, AlphaZeroOrEmptyKOnlyScalesC) {
  // BLAS reads neither A nor B then: NaNs there must not reach C, and beta = 0 clears C.
  std::mt19937 rng(4);
  for (std::int64_t k : {0, 5}) {
    for (double beta : {0.0, 1.0, 3.0}) {
      const Case c{false, true, 4, 6, k, k == 0 ? 1.0 : 0.0, beta, 1};
      Operands<float> ops = make_operands<float>(c, rng, beta == 0);
      std::fill(ops.a.begin(), ops.a.end(), std::numeric_limits<float>::quiet_NaN());
      std::fill(ops.b.begin(), ops.b.end(), std::numeric_limits<float>::quiet_NaN());
      kernels::small_gemm(c.transpose_a, c.transpose_b, c.m, c.n, c.k, static_cast<float>(c.alpha), ops.a.data(),
                          ops.lda, ops.b.data(), ops.ldb, static_cast<float>(c.beta), ops.c.data(), ops.ldc);
      for (std::int64_t i = 0; i < c.m; ++i)
        for (std::int64_t j = 0; j < c.n; ++j)
          EXPECT_EQ(ops.c[i * ops.ldc + j], beta == 0 ? 0.0f : static_cast<float>(beta) * ops.c_before[i * ops.ldc + j])
              << describe(c) << " at " << i << "," << j;
    }
  }
}

TEST(SmallGemm, SameShapeGivesBitIdenticalResults) {
  std::mt19937 rng(5);
  const Case c{true, false, 37, 70, 129, 1, 1, 0};
  Operands<float> ops = make_operands<float>(c, rng, false);
  std::vector<float> first = ops.c, second = ops.c;
  kernels::small_gemm(true, false, c.m, c.n, c.k, 1.0f, ops.a.data(), ops.lda, ops.b.data(), ops.ldb, 1.0f,
                      first.data(), ops.ldc);
  kernels::small_gemm(true, false, c.m, c.n, c.k, 1.0f, ops.a.data(), ops.lda, ops.b.data(), ops.ldb, 1.0f,
                      second.data(), ops.ldc);
  EXPECT_EQ(first, second);
}

TEST(SmallGemm, ThresholdDecision) {
  EXPECT_TRUE(kernels::use_small_gemm(32, 128, 128));
  EXPECT_TRUE(kernels::use_small_gemm(128, 128, 128));  // exactly 2^21
  EXPECT_FALSE(kernels::use_small_gemm(128, 128, 129));
  EXPECT_FALSE(kernels::use_small_gemm(std::int64_t{1} << 40, std::int64_t{1} << 40, 1));  // no overflow
  EXPECT_FALSE(kernels::use_small_gemm(1, 1, kernels::kSmallGemmMaxWork + 1));
}

// kernels::gemm, whichever side of the threshold a shape falls, against cblas on the same
// operands: the dispatch must not change results beyond float rounding.
TEST(SmallGemm, GemmDispatchMatchesCblasAcrossTheThreshold) {
  std::mt19937 rng(6);
  std::uniform_int_distribution<std::int64_t> dim(1, 200);
  std::vector<Case> cases = {{false, true, 32, 128, 64, 1, 0}, {false, true, 32, 128, 128, 1, 1},
                             {false, false, 32, 128, 10, 1, 1}, {true, false, 10, 128, 32, 1, 1},
                             {false, false, 128, 128, 128, 1, 0}, {false, false, 128, 128, 129, 1, 0},
                             {true, true, 150, 140, 130, 0.5, -1}};
  for (int r = 0; r < 24; ++r)
    cases.push_back({r % 2 == 1, r % 4 >= 2, dim(rng), dim(rng), dim(rng), 1, r % 3 == 0 ? 0.0 : 1.0, r % 2});
  int small = 0, large = 0;
  for (const Case& c : cases) {
    (kernels::use_small_gemm(c.m, c.n, c.k) ? small : large) += 1;
    Operands<float> ops = make_operands<float>(c, rng, false);
    std::vector<float> reference = ops.c;
    kernels::gemm(c.transpose_a, c.transpose_b, c.m, c.n, c.k, static_cast<float>(c.alpha), ops.a.data(), ops.lda,
                  ops.b.data(), ops.ldb, static_cast<float>(c.beta), ops.c.data(), ops.ldc);
    kernels::set_blas_threads(1);
    cblas_sgemm(CblasRowMajor, c.transpose_a ? CblasTrans : CblasNoTrans, c.transpose_b ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(c.m), static_cast<blasint>(c.n), static_cast<blasint>(c.k),
                static_cast<float>(c.alpha), ops.a.data(), static_cast<blasint>(ops.lda), ops.b.data(),
                static_cast<blasint>(ops.ldb), static_cast<float>(c.beta), reference.data(),
                static_cast<blasint>(ops.ldc));
    for (std::int64_t i = 0; i < c.m; ++i)
      for (std::int64_t j = 0; j < c.n; ++j) {
        const float want = reference[i * ops.ldc + j];
        ASSERT_NEAR(ops.c[i * ops.ldc + j], want, 1e-5f * static_cast<float>(c.k) + 1e-5f * std::abs(want))
            << describe(c) << " at " << i << "," << j;
      }
  }
  EXPECT_GT(small, 0);
  EXPECT_GT(large, 0);
}

// kernels::gemm on a case's operands, into `c` (ops.c's layout), with the case's alpha.
void gemm_into(const Case& c, const Operands<float>& ops, float beta, float* out, const float* bias = nullptr,
               float* a_row_sums = nullptr) {
  kernels::gemm(c.transpose_a, c.transpose_b, c.m, c.n, c.k, static_cast<float>(c.alpha), ops.a.data(), ops.lda,
                ops.b.data(), ops.ldb, beta, out, ops.ldc, bias, a_row_sums);
}

// Runs body(threads) with the pool at 1 and then 2 threads, and restores the setting.
void for_one_and_two_threads(const std::function<void(int)>& body) {
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    body(threads);
  }
  set_num_threads(saved);
}

// The bias argument (a linear layer's forward) gives bit for bit what filling C's rows with the
// bias and adding the product with beta = 1 gives, on both paths (one thread's small kernel, the
// split over threads above the threshold), for every transpose pair, several k-blocks (k > 256)
// and k = 0; C's old contents (NaN here) are not read.
TEST(SmallGemm, BiasArgumentEqualsFillingCWithTheBiasThenBetaOne) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const Case cases[] = {{false, true, 37, 70, 129, 1, 0, 2},  {false, false, 9, 33, 600, 1, 0, 0},
                        {true, true, 13, 5, 0, 1, 0, 1},      {true, false, 70, 37, 65, 0.5, 0, 0},
                        {false, true, 260, 96, 300, 1, 0, 0}, {true, false, 40, 300, 260, 1, 0, 3}};
  for_one_and_two_threads([&](int threads) {
    for (const Case& c : cases) {
      Operands<float> ops = make_operands<float>(c, rng, true);
      std::vector<float> bias(static_cast<std::size_t>(c.n));
      for (float& v : bias) v = uniform(rng);
      std::vector<float> expected = ops.c;
      for (std::int64_t i = 0; i < c.m; ++i)
        for (std::int64_t j = 0; j < c.n; ++j) expected[i * ops.ldc + j] = bias[j];
      gemm_into(c, ops, 1.0f, expected.data());
      gemm_into(c, ops, 0.0f, ops.c.data(), bias.data());
      for (std::int64_t i = 0; i < c.m; ++i)
        for (std::int64_t j = 0; j < ops.ldc; ++j)
          ASSERT_EQ(ops.c[i * ops.ldc + j], expected[i * ops.ldc + j])
              << describe(c) << " threads=" << threads << " at " << i << "," << j;
    }
  });
}

// a_row_sums (a linear layer's bias gradient, taken while the GEMM packs g^T) equals a plain
// in-order sum over k of each row of op(A), bit for bit (chunk by chunk for the reduction-
// shaped products, as gemm.h says), on every path: one thread's small kernel, the split over
// threads by rows and by columns, the chunked reduction, several k-blocks, n = 0; and C is
// the same as without it.
TEST(SmallGemm, RowSumsOfOpAEqualAnInOrderSum) {
  std::mt19937 rng(9);
  const Case cases[] = {{true, false, 37, 70, 129, 1, 0, 2},  {false, false, 9, 33, 600, 1, 1, 0},
                        {true, false, 384, 128, 2048, 1, 0, 0}, {true, false, 128, 512, 2048, 1, 1, 0},
                        {false, true, 260, 96, 300, 1, 0, 1},   {true, true, 13, 0, 40, 1, 0, 0}};
  for_one_and_two_threads([&](int threads) {
    for (const Case& c : cases) {
      Operands<float> ops = make_operands<float>(c, rng, false);
      std::vector<float> expected(static_cast<std::size_t>(c.m));
      const std::int64_t chunk = kernels::reduced_in_chunks(c.m, c.n, c.k) ? kernels::kReductionChunk : c.k + 1;
      for (std::int64_t i = 0; i < c.m; ++i) {
        float total = 0;
        for (std::int64_t p0 = 0; p0 < c.k; p0 += chunk) {
          float sum = 0;
          for (std::int64_t p = p0; p < std::min(c.k, p0 + chunk); ++p)
            sum += ops.a[c.transpose_a ? p * ops.lda + i : i * ops.lda + p];
          total = p0 == 0 ? sum : total + sum;
        }
        expected[i] = total;
      }
      std::vector<float> plain = ops.c, with_sums = ops.c, sums(static_cast<std::size_t>(c.m), -1.0f);
      gemm_into(c, ops, static_cast<float>(c.beta), plain.data());
      gemm_into(c, ops, static_cast<float>(c.beta), with_sums.data(), nullptr, sums.data());
      EXPECT_EQ(sums, expected) << describe(c) << " threads=" << threads;
      EXPECT_EQ(with_sums, plain) << describe(c) << " threads=" << threads;
    }
  });
}

// A weight gradient's shape (k = batch x time far above m and n) is summed in chunks of k
// (gemm.h): the result is the same bits on one thread and two, and as accurate as the
// ordinary path (the usual dot-product bound against a double-precision sum).
TEST(SmallGemm, ChunkedReductionIsThreadCountInvariantAndAccurate) {
  std::mt19937 rng(10);
  for (const Case& c : {Case{true, false, 384, 128, 2048, 1, 0, 0}, Case{true, false, 128, 512, 3000, 1, 1, 1}}) {
    ASSERT_TRUE(kernels::reduced_in_chunks(c.m, c.n, c.k));
    Operands<float> ops = make_operands<float>(c, rng, false);
    std::vector<float> results[2];
    for_one_and_two_threads([&](int threads) {
      results[threads - 1] = ops.c;
      gemm_into(c, ops, static_cast<float>(c.beta), results[threads - 1].data());
    });
    // Where OpenBLAS has a native kernel for this CPU, gemm hands it large products instead.
    const char* core = openblas_get_corename();
    if (core == nullptr || std::string_view(core) == "Prescott") {
      EXPECT_EQ(results[0], results[1]) << describe(c);
    }
    expect_matches_naive(c, ops, results[1]);
  }
}

// The micro-kernel is compiled without ASan's per-access checks and checks its footprint once
// per call instead (kernels/cpu/sanitizer_footprint.h): an out-of-bounds C must still be caught.
// (Built only under ASan: without it there is no report to expect.)
#if OURO_TEST_UNDER_ASAN
TEST(SmallGemm, SanitizerStillSeesAnOverflowInTheUninstrumentedMicroKernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::vector<float> a(3 * 4, 1.0f), b(4 * 5, 1.0f);
  // A 3 x 5 result with row stride 5 needs 15 floats; this C has 14.
  EXPECT_DEATH(
      {
        std::vector<float> c(14);
        ouro::kernels::small_gemm(false, false, 3, 5, 4, 1.0f, a.data(), 4, b.data(), 5, 0.0f, c.data(), 5);
      },
      "heap-buffer-overflow");
  EXPECT_DEATH(
      {
        std::vector<char> bytes(10);
        ouro::kernels::check_footprint(bytes.data() + 4, 7);
      },
      "heap-buffer-overflow");
  std::vector<char> bytes(10);
  ouro::kernels::check_footprint(bytes.data() + 4, 6);  // exactly in bounds: no report
}
#endif

}  // namespace
}  // namespace ouro::testing
