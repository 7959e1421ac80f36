// Elementary functions written so that GCC vectorises them inside `#pragma omp simd` loops
// (std::exp on float is an opaque scalar libm call, which keeps a loop scalar), and the
// fixed-order lane sums the fused kernels reduce with. exp_float stays within 2 ulp of the
// correctly rounded e^x for every float, subnormal results included.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace ouro::kernels {

// e^r * 2^n in two parts: x reduced to r = x - n ln2 with n = round(x / ln2), and the
// polynomial e^r, here; the caller applies 2^n (exp_float for every float, exp_float_normal
// where the result is known to be normal). `n_bits` gets n as an integer.
[[gnu::always_inline]] inline float exp_float_reduced(float x, std::int32_t& n_bits) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kC1 = 0.693359375f;  // ln2 = kC1 + kC2, kC1 exact in 9 bits
  constexpr float kC2 = -2.12194440e-4f;
  // 1.5 * 2^23: adding it rounds to the nearest integer (ties to even) in the low mantissa bits.
  constexpr float kRound = 12582912.0f;
  const float shifted = x * kLog2e + kRound;
  const float n = shifted - kRound;
  n_bits = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kRound);
  float r = x - n * kC1;
  r = r - n * kC2;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return (p * (r * r) + r) + 1.0f;
}

// e^x for float, branch-free. Cephes' expf scheme (S. Moshier, cephes/single/expf.c):
//   n = round(x / ln2), r = x - n*ln2 with ln2 split in two constants (C1 has 9 significant
//   bits, so n*C1 and x - n*C1 are exact for |n| < 2^15), e^r ~ 1 + r + r^2 P(r) on
//   |r| <= ln2/2 with Cephes' degree-5 minimax P (relative error ~1e-7 before rounding).
// 2^n is applied as two factors 2^(n/2) * 2^(n - n/2), each a normal float built from exponent
// bits, so n = 128 (x just below ln(FLT_MAX)) and results down to 2^-149 come out right; at
// most the last product rounds. Inputs are clamped to [-104.5, 89] first, which keeps the
// integer conversion in range and lets the arithmetic itself give the limits: x > ln(FLT_MAX)
// overflows to +inf, x < ln(2^-150) underflows to 0 (as the correctly rounded result does),
// and NaN passes through the clamp and stays NaN. The clamp is the only select: a branch after
// the polynomial made GCC sink the polynomial into it and then refuse to if-convert the loop.
inline float exp_float(float x) {
  constexpr float kLow = -104.5f, kHigh = 89.0f;
  x = x < kLow ? kLow : x;
  x = x > kHigh ? kHigh : x;
  std::int32_t ni;
  const float er = exp_float_reduced(x, ni);
  const std::int32_t half = ni >> 1;  // floor(n/2): both factors' exponents lie in [-76, 64]
  const float scale_a = std::bit_cast<float>((half + 127) << 23);
  const float scale_b = std::bit_cast<float>((ni - half + 127) << 23);
  return er * scale_a * scale_b;
}

// e^x for x in [kExpNormalLow, kExpNormalHigh], where e^x is a normal float: one scale factor
// instead of exp_float's two and no clamps of its own (the caller's range is the clamp), about
// a fifth fewer instructions. Bit for bit exp_float's result on that range: there 2^n is one
// normal float and er * 2^n as exact as er * 2^half * 2^(n - half).
constexpr float kExpNormalLow = -87.0f, kExpNormalHigh = 88.0f;
[[gnu::always_inline]] inline float exp_float_normal(float x) {
  std::int32_t ni;
  const float er = exp_float_reduced(x, ni);
  return er * std::bit_cast<float>((ni + 127) << 23);
}

// e^x: the vectorisable exp_float for float, std::exp otherwise (double keeps libm's accuracy).
template <typename T>
inline T vector_exp(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_float(x);
  else return std::exp(x);
}

// A sum of float or double terms in double, over kSumLanes interleaved partial sums: element j
// goes to lane j % kSumLanes and the lanes are added pairwise at the end. The order is fixed by
// the index alone, so the result does not depend on the compiler's vector width or on the
// thread count, yet the lanes are independent chains the compiler can keep in vector registers.
constexpr std::int64_t kSumLanes = 16;

struct LaneSum {
  double lane[kSumLanes] = {};
  double total() const {
    double pairs[kSumLanes];
    for (std::int64_t k = 0; k < kSumLanes; ++k) pairs[k] = lane[k];
    for (std::int64_t width = kSumLanes / 2; width >= 1; width /= 2)
      for (std::int64_t k = 0; k < width; ++k) pairs[k] += pairs[k + width];
    return pairs[0];
  }
};

// Calls body(j, lanes) for j in [0, n) where the term of element j must be added into
// lanes[j % kSumLanes]; full blocks of kSumLanes run as one vectorised loop.
template <typename Body>
[[gnu::always_inline]] inline void for_each_lane(std::int64_t n, LaneSum& sum, Body&& body) {
  std::int64_t j = 0;
  for (; j + kSumLanes <= n; j += kSumLanes) {
#pragma omp simd
    for (std::int64_t k = 0; k < kSumLanes; ++k) sum.lane[k] += body(j + k);
  }
  for (std::int64_t k = 0; j + k < n; ++k) sum.lane[k] += body(j + k);
}

}  // namespace ouro::kernels
