// Loss kernels over contiguous arrays: elementwise regression and binary losses, and the row
// losses (cross-entropy fused with log-softmax, nll) over `rows` rows of `classes` values.
// Forward kernels either write one loss per element / row or return their sum; every sum is
// formed in double in a fixed order, so it does not depend on the thread count. Backward
// kernels add into their outputs; the upstream gradient is grad_out[i * grad_stride] * scale
// (grad_stride 0 for a reduced loss, whose gradient is one number).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/vector_math.h"

namespace ouro::kernels {

// Elements per block of ordered_sum: each block is summed by one thread, the block sums in order.
constexpr std::int64_t kLossSumBlock = 1 << 14;

// Sum of term(i) over [0, n), in double, identical for every thread count.
template <typename Term>
double ordered_sum(std::int64_t n, Term term) {
  const std::int64_t blocks = (n + kLossSumBlock - 1) / kLossSumBlock;
  if (blocks <= 1) {
    double total = 0;
    for (std::int64_t i = 0; i < n; ++i) total += term(i);
    return total;
  }
  std::vector<double> partial(static_cast<std::size_t>(blocks));
  const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t end = std::min(n, (b + 1) * kLossSumBlock);
    double acc = 0;
    for (std::int64_t i = b * kLossSumBlock; i < end; ++i) acc += term(i);
    partial[static_cast<std::size_t>(b)] = acc;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

// ---- regression losses: loss(x, y) and its derivative in x (the one in y is its negative) ----

struct SquaredErrorTerm {
  template <typename T> T value(T x, T y) const { const T d = x - y; return d * d; }
  template <typename T> T derivative(T x, T y) const { return T(2) * (x - y); }
};

struct AbsoluteErrorTerm {
  template <typename T> T value(T x, T y) const { return std::abs(x - y); }
  // 0 at x == y, the subgradient PyTorch uses.
  template <typename T> T derivative(T x, T y) const { return x > y ? T(1) : (x < y ? T(-1) : T(0)); }
};

// Quadratic within delta of the target, linear (slope delta) beyond: PyTorch's huber_loss.
struct HuberTerm {
  double delta = 1.0;
  template <typename T> T value(T x, T y) const {
    const T z = std::abs(x - y), d = static_cast<T>(delta);
    return z < d ? T(0.5) * z * z : d * (z - T(0.5) * d);
  }
  template <typename T> T derivative(T x, T y) const {
    const T z = x - y, d = static_cast<T>(delta);
    return z < -d ? -d : (z > d ? d : z);
  }
};

// losses[i] = term(x[i], y[i]) when losses is given (returns 0), else returns their sum.
template <typename T, typename Term>
double regression_loss_forward(const T* x, const T* y, std::int64_t n, T* losses, Term term) {
  if (losses) {
    const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t i = 0; i < n; ++i) losses[i] = term.value(x[i], y[i]);
    return 0;
  }
  return ordered_sum(n, [&](std::int64_t i) { return static_cast<double>(term.value(x[i], y[i])); });
}

// grad_x[i] += g_i * d/dx, grad_y[i] -= g_i * d/dx; either may be null. They may alias
// (loss(a, a)), so each element is read and written by one statement at a time.
template <typename T, typename Term>
void regression_loss_backward(const T* x, const T* y, std::int64_t n, const T* grad_out, std::int64_t grad_stride,
                              T scale, T* grad_x, T* grad_y, Term term) {
  const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    const T local = grad_out[i * grad_stride] * scale * term.derivative(x[i], y[i]);
    if (grad_x) grad_x[i] += local;
    if (grad_y) grad_y[i] -= local;
  }
}

// ---- binary cross-entropy on probabilities ----

// PyTorch clamps each log at -100, so p = 0 or 1 gives a large finite loss, not inf.
template <typename T>
T clamped_log(T v) { return std::max(std::log(v), T(-100)); }
template <typename T>
T clamped_log1m(T p) { return std::max(std::log1p(-p), T(-100)); }

template <typename T>
T binary_cross_entropy_value(T p, T t, T w) {
  return -w * (t * clamped_log(p) + (T(1) - t) * clamped_log1m(p));
}

// weight may be null (all ones). losses written when given (returns 0), else the sum returned.
template <typename T>
double binary_cross_entropy_forward(const T* p, const T* t, const T* weight, std::int64_t n, T* losses) {
  auto w = [weight](std::int64_t i) { return weight ? weight[i] : T(1); };
  if (losses) {
    const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t i = 0; i < n; ++i) losses[i] = binary_cross_entropy_value(p[i], t[i], w(i));
    return 0;
  }
  return ordered_sum(n, [&](std::int64_t i) { return static_cast<double>(binary_cross_entropy_value(p[i], t[i], w(i))); });
}

// d/dp = w (p - t) / max(p (1 - p), 1e-12) (PyTorch's guard against p = 0 or 1, whose 1e-12
// is a float even in double precision, kept so that the results agree);
// d/dt = w (log(1 - p) - log p), both logs clamped as in the forward.
template <typename T>
void binary_cross_entropy_backward(const T* p, const T* t, const T* weight, std::int64_t n, const T* grad_out,
                                   std::int64_t grad_stride, T scale, T* grad_p, T* grad_t) {
  const T guard = static_cast<T>(1e-12f);
  const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    const T g = grad_out[i * grad_stride] * scale * (weight ? weight[i] : T(1));
    if (grad_p) grad_p[i] += g * (p[i] - t[i]) / std::max((T(1) - p[i]) * p[i], guard);
    if (grad_t) grad_t[i] += g * (clamped_log1m(p[i]) - clamped_log(p[i]));
  }
}

// ---- binary cross-entropy on logits ----

// softplus(-x) = log(1 + e^-x) without overflow: max(-x, 0) + log1p(e^-|x|).
template <typename T>
T softplus_neg(T x) { return std::max(-x, T(0)) + std::log1p(std::exp(-std::abs(x))); }

// l = w ((1 - t) x + L softplus(-x)) with L = 1 + (pos_weight - 1) t; for pos_weight = 1 this
// is the familiar max(x, 0) - x t + log1p(e^-|x|). weight and pos_weight may be null.
template <typename T>
T bce_logits_value(T x, T t, T w, T pw) {
  return w * ((T(1) - t) * x + (T(1) + (pw - T(1)) * t) * softplus_neg(x));
}

template <typename T>
double bce_with_logits_forward(const T* x, const T* t, const T* weight, const T* pos_weight, std::int64_t n,
                               T* losses) {
  auto value = [&](std::int64_t i) {
    return bce_logits_value(x[i], t[i], weight ? weight[i] : T(1), pos_weight ? pos_weight[i] : T(1));
  };
  if (losses) {
    const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t i = 0; i < n; ++i) losses[i] = value(i);
    return 0;
  }
  return ordered_sum(n, [&](std::int64_t i) { return static_cast<double>(value(i)); });
}

// d/dx = w ((1 - t) - L sigmoid(-x)), which is w (sigmoid(x) - t) for pos_weight = 1;
// d/dt = w (-x + (pos_weight - 1) softplus(-x)).
template <typename T>
void bce_with_logits_backward(const T* x, const T* t, const T* weight, const T* pos_weight, std::int64_t n,
                              const T* grad_out, std::int64_t grad_stride, T scale, T* grad_x, T* grad_t) {
  const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    const T g = grad_out[i * grad_stride] * scale * (weight ? weight[i] : T(1));
    const T pw = pos_weight ? pos_weight[i] : T(1);
    if (grad_x) {
      // sigmoid(-x) from e^-|x|, which never overflows.
      const T e = std::exp(-std::abs(x[i]));
      const T sigmoid_neg = x[i] >= T(0) ? e / (T(1) + e) : T(1) / (T(1) + e);
      grad_x[i] += g * ((T(1) - t[i]) - (T(1) + (pw - T(1)) * t[i]) * sigmoid_neg);
    }
    if (grad_t) grad_t[i] += g * (-x[i] + (pw - T(1)) * softplus_neg(x[i]));
  }
}

// ---- row losses: `rows` contiguous rows of `classes` values ----

// A row's log-softmax is (x - max) - log_sum with log_sum = log(sum(exp(x - max))). Keeping
// the two terms apart, rather than forming logsumexp = max + log_sum, keeps log_sum's digits
// in float32 when the logits are large (at 1e4 a float's spacing is 1e-3).
struct RowLogSumExp {
  double max, log_sum;
};

// The exps go through a small buffer in blocks (a multiple of the lane count, so each term
// keeps its lane): GCC vectorises exp_float into the buffer, and the double lane sum after it,
// but not one loop that mixes the two (as in softmax.h).
template <typename T>
RowLogSumExp row_log_sum_exp(const T* row, std::int64_t classes) {
  T m = row[0];
#pragma omp simd reduction(max : m)
  for (std::int64_t c = 1; c < classes; ++c) m = row[c] > m ? row[c] : m;
  constexpr std::int64_t kBlock = 16 * kSumLanes;
  T exps[kBlock];
  LaneSum lanes;
  for (std::int64_t c0 = 0; c0 < classes; c0 += kBlock) {
    const std::int64_t width = std::min(kBlock, classes - c0);
#pragma omp simd
    for (std::int64_t c = 0; c < width; ++c) exps[c] = vector_exp<T>(row[c0 + c] - m);
    for_each_lane(width, lanes, [&](std::int64_t c) { return static_cast<double>(exps[c]); });
  }
  return {static_cast<double>(m), std::log(lanes.total())};
}

// Cross-entropy with class-index targets, fused with log-softmax. Per row, with
// -log p_c = (max - x_c) + log_sum:
//   loss[r] = (1 - eps) (-log p_t) + eps mean_c(-log p_c)
// (PyTorch's label smoothing). row_max / row_log_sum are kept for the backward. Rows whose
// target is ignore_index get loss 0 and are not read again. Targets must be in range.
template <typename T>
void cross_entropy_forward(const T* logits, const std::int64_t* targets, std::int64_t rows, std::int64_t classes,
                           std::int64_t ignore_index, double label_smoothing, T* row_max, T* row_log_sum,
                           double* losses) {
  const int threads = threads_for(rows * classes);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = logits + r * classes;
    const std::int64_t target = targets[r];
    if (target == ignore_index) {
      row_max[r] = row_log_sum[r] = T(0);
      losses[r] = 0;
      continue;
    }
    const RowLogSumExp s = row_log_sum_exp(row, classes);
    row_max[r] = static_cast<T>(s.max);
    row_log_sum[r] = static_cast<T>(s.log_sum);
    double loss = (1 - label_smoothing) * (static_cast<double>(row_max[r] - row[target]) + s.log_sum);
    if (label_smoothing > 0) {
      double shifted = 0;  // sum of (x_c - max)
      for (std::int64_t c = 0; c < classes; ++c) shifted += static_cast<double>(row[c] - row_max[r]);
      loss += label_smoothing * (s.log_sum - shifted / static_cast<double>(classes));
    }
    losses[r] = loss;
  }
}

// grad_logits[r] += g_r (softmax(x_r) - q_r), q_r = (1 - eps) onehot(t_r) + eps / C; ignored rows get nothing.
template <typename T>
void cross_entropy_backward(const T* logits, const std::int64_t* targets, const T* row_max, const T* row_log_sum,
                            std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                            double label_smoothing, const T* grad_out, std::int64_t grad_stride, T scale,
                            T* grad_logits) {
  const T off_target = static_cast<T>(label_smoothing / static_cast<double>(classes));
  const T keep = static_cast<T>(1 - label_smoothing);
  const int threads = threads_for(rows * classes);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t target = targets[r];
    if (target == ignore_index) continue;
    const T g = grad_out[r * grad_stride] * scale;
    const T* row = logits + r * classes;
    T* out = grad_logits + r * classes;
    const T m = row_max[r], log_sum = row_log_sum[r];
#pragma omp simd
    for (std::int64_t c = 0; c < classes; ++c) out[c] += g * (vector_exp<T>((row[c] - m) - log_sum) - off_target);
    out[target] -= g * keep;
  }
}

// Cross-entropy with a target distribution per row (any non-negative weights; they need not
// sum to 1), smoothed as q = (1 - eps) t + eps / C: loss[r] = sum_c q_c (-log p_c).
template <typename T>
void cross_entropy_soft_forward(const T* logits, const T* targets, std::int64_t rows, std::int64_t classes,
                                double label_smoothing, T* row_max, T* row_log_sum, double* losses) {
  const double off = label_smoothing / static_cast<double>(classes);
  const int threads = threads_for(rows * classes);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = logits + r * classes;
    const T* q = targets + r * classes;
    const RowLogSumExp s = row_log_sum_exp(row, classes);
    const T m = static_cast<T>(s.max);
    row_max[r] = m;
    row_log_sum[r] = static_cast<T>(s.log_sum);
    double loss = 0;
    for (std::int64_t c = 0; c < classes; ++c)
      loss += ((1 - label_smoothing) * static_cast<double>(q[c]) + off) * (static_cast<double>(m - row[c]) + s.log_sum);
    losses[r] = loss;
  }
}

// d/dx_c = softmax_c sum(q) - q_c, d/dt_c = (1 - eps) (-log p_c); either output may be null.
template <typename T>
void cross_entropy_soft_backward(const T* logits, const T* targets, const T* row_max, const T* row_log_sum,
                                 std::int64_t rows, std::int64_t classes, double label_smoothing, const T* grad_out,
                                 std::int64_t grad_stride, T scale, T* grad_logits, T* grad_targets) {
  const T keep = static_cast<T>(1 - label_smoothing);
  const T off = static_cast<T>(label_smoothing / static_cast<double>(classes));
  const int threads = threads_for(rows * classes);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r) {
    const T g = grad_out[r * grad_stride] * scale;
    const T* row = logits + r * classes;
    const T* t = targets + r * classes;
    const T m = row_max[r], log_sum = row_log_sum[r];
    if (grad_logits) {
      double mass = 0;
      for (std::int64_t c = 0; c < classes; ++c) mass += static_cast<double>(keep * t[c] + off);
      const T total = static_cast<T>(mass);
      T* out = grad_logits + r * classes;
      for (std::int64_t c = 0; c < classes; ++c)
        out[c] += g * (std::exp((row[c] - m) - log_sum) * total - (keep * t[c] + off));
    }
    if (grad_targets) {
      T* out = grad_targets + r * classes;
      for (std::int64_t c = 0; c < classes; ++c) out[c] += g * keep * ((m - row[c]) + log_sum);
    }
  }
}

// Negative log-likelihood of log-probabilities: loss[r] = -x_r[t_r], 0 for ignored rows.
template <typename T>
void nll_forward(const T* log_probs, const std::int64_t* targets, std::int64_t rows, std::int64_t classes,
                 std::int64_t ignore_index, double* losses) {
  for (std::int64_t r = 0; r < rows; ++r)
    losses[r] = targets[r] == ignore_index ? 0.0 : -static_cast<double>(log_probs[r * classes + targets[r]]);
}

template <typename T>
void nll_backward(const std::int64_t* targets, std::int64_t rows, std::int64_t classes, std::int64_t ignore_index,
                  const T* grad_out, std::int64_t grad_stride, T scale, T* grad_log_probs) {
  for (std::int64_t r = 0; r < rows; ++r)
    if (targets[r] != ignore_index) grad_log_probs[r * classes + targets[r]] -= grad_out[r * grad_stride] * scale;
}

}  // namespace ouro::kernels
