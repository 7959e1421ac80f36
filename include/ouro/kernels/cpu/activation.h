// Activation functions as scalar templates, each value paired with its derivative, in forms
// that stay finite for any finite input; the ops map them over arrays with the elementwise kernels.
#pragma once
#include <cmath>
#include <numbers>
#include <type_traits>

#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {

// Two branches so exp never sees a large positive argument: 1/(1+e^-x) overflows e^-x for
// x << 0 and e^x/(1+e^x) overflows for x >> 0.
template <typename T>
T sigmoid_value(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// GELU, exact form: x * Phi(x) with Phi the standard normal CDF.
template <typename T>
T gelu_erf_value(T x) {
  return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(std::numbers::sqrt2 / 2)));
}

// d/dx x*Phi(x) = Phi(x) + x*phi(x).
template <typename T>
T gelu_erf_derivative(T x) {
  const T cdf = T(0.5) * (T(1) + std::erf(x * static_cast<T>(std::numbers::sqrt2 / 2)));
  const T pdf = std::exp(T(-0.5) * x * x) * static_cast<T>(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
  return cdf + x * pdf;
}

// GELU, tanh approximation (Hendrycks & Gimpel 2016, as PyTorch's approximate="tanh"):
// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3). Computed as x * sigmoid(2u), the same
// function (0.5 (1 + tanh u) = 1 / (1 + e^-2u)) without the cancellation of 1 + tanh for
// negative u, through vector_exp: std::tanh on float is an opaque libm call that kept the
// loops scalar, and was half of a GPT training step (bench/bench_gpt.cpp). e^-2u is capped
// at e^80 (finite in float; the result there is ~1e-35 x, zero to any tolerance). For float
// it is also floored at e^-87, where 1 + e^-2u is already exactly 1, so the normal-range
// exp_float_normal serves: the same bits as exp_float, with GELU forward and backward ~30%
// faster (the two plain clamps become a vmaxps and a vminps, exp_float's edge handling goes).
// Always inlined, as are the value and derivative below: a call to any of them out of line
// keeps the elementwise loop that maps it scalar (4x slower).
template <typename T>
[[gnu::always_inline]] inline T gelu_tanh_exp(T x) {
  const T k = static_cast<T>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
  T z = T(-2) * k * (x + T(0.044715) * x * x * x);
  if constexpr (std::is_same_v<T, float>) {
    static_assert(kExpNormalLow <= -87.0f && 80.0f <= kExpNormalHigh);
    // A NaN x becomes z = -87 here; the callers' x / (1 + e) and x * ... still give NaN.
    z = z > -87.0f ? z : -87.0f;
    z = z < 80.0f ? z : 80.0f;
    return exp_float_normal(z);
  } else {
    return std::exp(z < T(80) ? z : T(80));
  }
}

template <typename T>
[[gnu::always_inline]] inline T gelu_tanh_value(T x) {
  return x / (T(1) + gelu_tanh_exp(x));
}

// d/dx x s(2u) = s + 2 x u' s (1 - s), with s = 1 / (1 + e), 1 - s = e s (no cancellation).
template <typename T>
[[gnu::always_inline]] inline T gelu_tanh_derivative(T x) {
  const T k = static_cast<T>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);
  const T e = gelu_tanh_exp(x);
  const T s = T(1) / (T(1) + e);
  const T inner_derivative = k * (T(1) + T(3) * T(0.044715) * x * x);
  return s + T(2) * x * inner_derivative * s * (e * s);
}

// PyTorch's softplus: log(1 + e^(beta x)) / beta, and x itself once beta x > threshold (where
// the two agree to within rounding). log1p(e^-|z|) + max(z, 0) is the same function without
// the overflow of e^z when a large threshold lets big z through.
template <typename T>
T softplus_value(T x, T beta, T threshold) {
  const T z = beta * x;
  if (z > threshold) return x;
  return (std::log1p(std::exp(-std::abs(z))) + (z > T(0) ? z : T(0))) / beta;
}

// d/dx softplus = sigmoid(beta x), and 1 past the threshold.
template <typename T>
T softplus_derivative(T x, T beta, T threshold) {
  const T z = beta * x;
  return z > threshold ? T(1) : sigmoid_value(z);
}

}  // namespace ouro::kernels
