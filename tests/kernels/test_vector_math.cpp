#include "ouro/kernels/cpu/vector_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace ouro::testing {
namespace {

// Distance of `got` from the exact e^x, in units in the last place of the float nearest to
// e^x (2^-149 in the subnormal range). std::exp in double is exact enough to be the oracle; an
// overflow counts as the value 2^128, so inf for a finite result is a large error.
double exp_ulp_error(float x, float got) {
  const double overflow = std::ldexp(1.0, 128);
  double exact = std::min(std::exp(static_cast<double>(x)), overflow);
  const double value = std::isinf(got) ? overflow : static_cast<double>(got);
  int exponent = 0;
  std::frexp(exact, &exponent);  // exact = m * 2^exponent, m in [0.5, 1)
  const double ulp = exact < std::ldexp(1.0, -126) ? std::ldexp(1.0, -149) : std::ldexp(1.0, exponent - 24);
  return std::abs(value - exact) / ulp;
}

TEST(VectorMath, ExpFloatWithinTwoUlpOverTheWholeRange) {
  // Every 127th float from 0 up to +inf, both signs (about 34 million inputs), run through a
  // vectorised loop as the kernels run it, against the exact value.
  constexpr std::uint32_t kStride = 127, kBlock = 1 << 16;
  const std::uint32_t inf_bits = std::bit_cast<std::uint32_t>(std::numeric_limits<float>::infinity());
  std::vector<float> xs(kBlock), ys(kBlock);
  double worst = 0;
  float worst_x = 0;
  for (std::uint32_t sign : {0u, 0x80000000u}) {
    for (std::uint64_t start = 0; start < inf_bits; start += std::uint64_t{kStride} * kBlock) {
      for (std::uint32_t i = 0; i < kBlock; ++i)
        xs[i] = std::bit_cast<float>(static_cast<std::uint32_t>(std::min<std::uint64_t>(start + i * kStride, inf_bits)) | sign);
      const float* in = xs.data();
      float* out = ys.data();
#pragma omp simd
      for (std::uint32_t i = 0; i < kBlock; ++i) out[i] = kernels::exp_float(in[i]);
      for (std::uint32_t i = 0; i < kBlock; ++i) {
        const double error = exp_ulp_error(xs[i], ys[i]);
        if (error > worst) {
          worst = error;
          worst_x = xs[i];
        }
      }
    }
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_x;
}

TEST(VectorMath, ExpFloatEdges) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(kernels::exp_float(0.0f), 1.0f);
  EXPECT_EQ(kernels::exp_float(-0.0f), 1.0f);
  EXPECT_EQ(kernels::exp_float(inf), inf);
  EXPECT_EQ(kernels::exp_float(-inf), 0.0f);
  EXPECT_TRUE(std::isnan(kernels::exp_float(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(kernels::exp_float(1e30f), inf);
  EXPECT_EQ(kernels::exp_float(-1e30f), 0.0f);
  // Around ln(FLT_MAX) = 88.7228391...: the last finite result and the first overflow.
  EXPECT_TRUE(std::isfinite(kernels::exp_float(88.7228317f)));
  EXPECT_EQ(kernels::exp_float(88.7228394f), inf);
  // Subnormal results are kept rather than flushed: e^-100 = 3.72e-44, and below ln(2^-150) 0.
  EXPECT_LE(exp_ulp_error(-100.0f, kernels::exp_float(-100.0f)), 1.0);
  EXPECT_GT(kernels::exp_float(-103.9f), 0.0f);
  EXPECT_EQ(kernels::exp_float(-104.0f), 0.0f);
}

TEST(VectorMath, ExpFloatNormalIsExpFloatBitForBitOnItsRange) {
  // Every float in [kExpNormalLow, kExpNormalHigh] (about 2.1 billion would be all of them;
  // every 7th, both signs' share of the range, about 300 million), vectorised as the kernels
  // run it: the single-scale variant must give exp_float's bits, not just close ones.
  constexpr std::uint32_t kStride = 7, kBlock = 1 << 16;
  std::vector<float> xs(kBlock), normal(kBlock), full(kBlock);
  std::uint64_t compared = 0, differing = 0;
  float first_difference = 0;
  auto sweep = [&](float from, float to) {  // |from| <= |to|, same sign
    const std::uint32_t first = std::bit_cast<std::uint32_t>(from), last = std::bit_cast<std::uint32_t>(to);
    for (std::uint64_t start = first; start <= last; start += std::uint64_t{kStride} * kBlock) {
      std::uint32_t count = 0;
      for (; count < kBlock && start + std::uint64_t{count} * kStride <= last; ++count)
        xs[count] = std::bit_cast<float>(static_cast<std::uint32_t>(start + std::uint64_t{count} * kStride));
      const float* in = xs.data();
      float* a = normal.data();
      float* b = full.data();
#pragma omp simd
      for (std::uint32_t i = 0; i < count; ++i) a[i] = kernels::exp_float_normal(in[i]);
#pragma omp simd
      for (std::uint32_t i = 0; i < count; ++i) b[i] = kernels::exp_float(in[i]);
      for (std::uint32_t i = 0; i < count; ++i, ++compared)
        if (std::bit_cast<std::uint32_t>(normal[i]) != std::bit_cast<std::uint32_t>(full[i]) && differing++ == 0)
          first_difference = xs[i];
    }
  };
  sweep(0.0f, kernels::kExpNormalHigh);
  sweep(-0.0f, kernels::kExpNormalLow);
  EXPECT_GT(compared, 250'000'000u);
  EXPECT_EQ(differing, 0u) << "first at x = " << first_difference;
  // The range's ends give normal results, as the name promises.
  EXPECT_TRUE(std::isnormal(kernels::exp_float_normal(kernels::kExpNormalLow)));
  EXPECT_TRUE(std::isnormal(kernels::exp_float_normal(kernels::kExpNormalHigh)));
}

TEST(VectorMath, LaneSumIsExactOnIntegersAndIndependentOfBlocking) {
  for (std::int64_t n : {0, 1, 15, 16, 17, 100, 1000}) {
    kernels::LaneSum sum;
    kernels::for_each_lane(n, sum, [](std::int64_t j) { return static_cast<double>(j); });
    EXPECT_EQ(sum.total(), static_cast<double>(n * (n - 1) / 2)) << "n = " << n;
  }
}

}  // namespace
}  // namespace ouro::testing
