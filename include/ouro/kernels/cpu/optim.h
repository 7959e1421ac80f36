// Optimizer kernels: one fused pass per parameter that reads its gradient and state buffers
// and writes the new parameter and state in place, with torch.optim's (1.13) formulas and
// operation order; plus the gradient norm and clamp used by clipping. Elementwise, so results
// do not depend on the thread count; the norm sums fixed blocks in a fixed order.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"

namespace ouro::kernels {

// Runs body(i) for i in [0, n): parallel above kParallelGrain, vectorised within a thread.
// Every kernel below hoists its option branches out of the loop (template bools) so that the
// body is straight-line code the compiler can vectorise.
template <typename Body>
inline void optim_for_each(std::int64_t n, Body body) {
  const int threads = threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
  for (std::int64_t i = 0; i < n; ++i) body(i);
}

// ---- SGD ----
struct SgdStep {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  // The momentum buffer is empty before the first step: torch then sets it to d_p, not
  // momentum * 0 + (1 - dampening) * d_p.
  bool first_step = false;
};

// d_p = g + wd p; buf = first ? d_p : momentum buf + (1 - dampening) d_p;
// p -= lr (nesterov ? d_p + momentum buf : buf). momentum_buffer may be null when momentum == 0.
template <typename T>
void sgd_update(T* param, const T* grad, T* momentum_buffer, std::int64_t n, const SgdStep& s) {
  const T lr = static_cast<T>(s.lr), wd = static_cast<T>(s.weight_decay), mu = static_cast<T>(s.momentum),
          damp = static_cast<T>(1 - s.dampening);
  auto run = [&](auto has_wd, auto has_momentum, auto nesterov, auto first) {
    optim_for_each(n, [=](std::int64_t i) {
      T d = grad[i];
      if constexpr (decltype(has_wd)::value) d = d + wd * param[i];
      if constexpr (decltype(has_momentum)::value) {
        T b;
        if constexpr (decltype(first)::value) b = d;
        else b = momentum_buffer[i] * mu + damp * d;
        momentum_buffer[i] = b;
        if constexpr (decltype(nesterov)::value) d = d + mu * b;
        else d = b;
      }
      param[i] = param[i] - lr * d;
    });
  };
  using F = std::false_type;
  using Tr = std::true_type;
  const bool has_wd = s.weight_decay != 0, has_momentum = s.momentum != 0 && momentum_buffer != nullptr;
  auto with_wd = [&](auto w) {
    if (!has_momentum) return run(w, F{}, F{}, F{});
    if (s.nesterov) return s.first_step ? run(w, Tr{}, Tr{}, Tr{}) : run(w, Tr{}, Tr{}, F{});
    return s.first_step ? run(w, Tr{}, F{}, Tr{}) : run(w, Tr{}, F{}, F{});
  };
  if (has_wd) with_wd(Tr{});
  else with_wd(F{});
}

// ---- Adam / AdamW ----
struct AdamStep {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step = 1;         // the step count after this step (torch's state["step"], a float)
  bool decoupled = false;  // AdamW: p *= 1 - lr wd before the update, instead of g += wd p
  bool amsgrad = false;
};

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; [vmax = max(vmax, v)];
// p -= lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps).
// max_exp_avg_sq may be null unless amsgrad.
template <typename T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, std::int64_t n,
                 const AdamStep& s) {
  const double bias1 = 1 - std::pow(s.beta1, s.step), bias2 = 1 - std::pow(s.beta2, s.step);
  const T neg_step_size = static_cast<T>(-(s.lr / bias1)), bias2_sqrt = static_cast<T>(std::sqrt(bias2));
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2), one_b1 = static_cast<T>(1 - s.beta1),
          one_b2 = static_cast<T>(1 - s.beta2), eps = static_cast<T>(s.eps), wd = static_cast<T>(s.weight_decay),
          decay = static_cast<T>(1 - s.lr * s.weight_decay);
  auto run = [&](auto coupled_wd, auto decoupled_wd, auto amsgrad) {
    optim_for_each(n, [=](std::int64_t i) {
      T p = param[i];
      T g = grad[i];
      if constexpr (decltype(decoupled_wd)::value) p = p * decay;
      if constexpr (decltype(coupled_wd)::value) g = g + wd * p;
      const T m = exp_avg[i] * b1 + one_b1 * g;
      const T v = exp_avg_sq[i] * b2 + one_b2 * (g * g);
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      T vhat = v;
      if constexpr (decltype(amsgrad)::value) {
        vhat = std::max(max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = vhat;
      }
      const T denom = std::sqrt(vhat) / bias2_sqrt + eps;
      param[i] = p + neg_step_size * (m / denom);
    });
  };
  using F = std::false_type;
  using Tr = std::true_type;
  const bool ams = s.amsgrad && max_exp_avg_sq != nullptr;
  if (s.weight_decay == 0) return ams ? run(F{}, F{}, Tr{}) : run(F{}, F{}, F{});
  if (s.decoupled) return ams ? run(F{}, Tr{}, Tr{}) : run(F{}, Tr{}, F{});
  return ams ? run(Tr{}, F{}, Tr{}) : run(Tr{}, F{}, F{});
}

// ---- RMSProp ----
struct RmspropStep {
  double lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
};

// g += wd p; sq = alpha sq + (1 - alpha) g^2; [ga = alpha ga + (1 - alpha) g];
// avg = sqrt(sq [- ga^2]) + eps; momentum: buf = momentum buf + g / avg, p -= lr buf;
// otherwise p -= lr g / avg. grad_avg null unless centered, momentum_buffer null unless momentum > 0.
template <typename T>
void rmsprop_update(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, std::int64_t n,
                    const RmspropStep& s) {
  const T neg_lr = static_cast<T>(-s.lr), alpha = static_cast<T>(s.alpha), one_alpha = static_cast<T>(1 - s.alpha),
          eps = static_cast<T>(s.eps), wd = static_cast<T>(s.weight_decay), mu = static_cast<T>(s.momentum);
  auto run = [&](auto has_wd, auto centered, auto has_momentum) {
    optim_for_each(n, [=](std::int64_t i) {
      T g = grad[i];
      if constexpr (decltype(has_wd)::value) g = g + wd * param[i];
      const T sq = square_avg[i] * alpha + one_alpha * (g * g);
      square_avg[i] = sq;
      T avg;
      if constexpr (decltype(centered)::value) {
        const T ga = grad_avg[i] * alpha + one_alpha * g;
        grad_avg[i] = ga;
        avg = std::sqrt(sq + T(-1) * (ga * ga));
      } else {
        avg = std::sqrt(sq);
      }
      avg = avg + eps;
      if constexpr (decltype(has_momentum)::value) {
        const T b = momentum_buffer[i] * mu + g / avg;
        momentum_buffer[i] = b;
        param[i] = param[i] + neg_lr * b;
      } else {
        param[i] = param[i] + neg_lr * (g / avg);
      }
    });
  };
  using F = std::false_type;
  using Tr = std::true_type;
  const bool has_wd = s.weight_decay != 0, centered = s.centered && grad_avg != nullptr,
             has_momentum = s.momentum > 0 && momentum_buffer != nullptr;
  auto with_wd = [&](auto w) {
    if (centered) return has_momentum ? run(w, Tr{}, Tr{}) : run(w, Tr{}, F{});
    return has_momentum ? run(w, F{}, Tr{}) : run(w, F{}, F{});
  };
  if (has_wd) with_wd(Tr{});
  else with_wd(F{});
}

// ---- Adagrad ----
struct AdagradStep {
  double lr = 0.01, lr_decay = 0, eps = 1e-10, weight_decay = 0;
  double step = 1;  // the step count after this step
};

// g += wd p; sum += g^2; p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps).
template <typename T>
void adagrad_update(T* param, const T* grad, T* sum, std::int64_t n, const AdagradStep& s) {
  const T neg_clr = static_cast<T>(-(s.lr / (1 + (s.step - 1) * s.lr_decay)));
  const T eps = static_cast<T>(s.eps), wd = static_cast<T>(s.weight_decay);
  auto run = [&](auto has_wd) {
    optim_for_each(n, [=](std::int64_t i) {
      T g = grad[i];
      if constexpr (decltype(has_wd)::value) g = g + wd * param[i];
      const T acc = sum[i] + g * g;
      sum[i] = acc;
      param[i] = param[i] + neg_clr * (g / (std::sqrt(acc) + eps));
    });
  };
  if (s.weight_decay != 0) run(std::true_type{});
  else run(std::false_type{});
}

// ---- clipping ----

// Elements per block of grad_norm_sum: each block is summed by one thread, the blocks in order.
constexpr std::int64_t kNormSumBlock = 1 << 14;

// sum |g[i]|^p over [0, n) in double (p == 2 as g*g, p == 1 as |g|), or max |g[i]| when
// infinity_norm. Identical for every thread count.
template <typename T>
double grad_norm_sum(const T* g, std::int64_t n, double p, bool infinity_norm) {
  auto block = [&](std::int64_t begin, std::int64_t end) {
    double acc = 0;
    if (infinity_norm) {
      for (std::int64_t i = begin; i < end; ++i) {
        const double a = std::abs(static_cast<double>(g[i]));
        // NaN wins, as in torch's max
        acc = (a > acc || std::isnan(a)) ? a : acc;
      }
    } else if (p == 2) {
      for (std::int64_t i = begin; i < end; ++i) acc += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    } else if (p == 1) {
      for (std::int64_t i = begin; i < end; ++i) acc += std::abs(static_cast<double>(g[i]));
    } else {
      for (std::int64_t i = begin; i < end; ++i) acc += std::pow(std::abs(static_cast<double>(g[i])), p);
    }
    return acc;
  };
  const std::int64_t blocks = (n + kNormSumBlock - 1) / kNormSumBlock;
  if (blocks <= 1) return block(0, n);
  std::vector<double> partial(static_cast<std::size_t>(blocks));
  const int threads = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t b = 0; b < blocks; ++b)
    partial[static_cast<std::size_t>(b)] = block(b * kNormSumBlock, std::min(n, (b + 1) * kNormSumBlock));
  double total = 0;
  for (double v : partial) {
    if (infinity_norm) total = (v > total || std::isnan(v)) ? v : total;
    else total += v;
  }
  return total;
}

// g[i] *= scale
template <typename T>
void scale_in_place(T* g, std::int64_t n, double scale) {
  const T c = static_cast<T>(scale);
  optim_for_each(n, [=](std::int64_t i) { g[i] = g[i] * c; });
}

// g[i] = clamp(g[i], -clip, clip); NaN stays NaN.
template <typename T>
void clamp_in_place(T* g, std::int64_t n, double clip) {
  const T hi = static_cast<T>(clip), lo = static_cast<T>(-clip);
  optim_for_each(n, [=](std::int64_t i) {
    const T v = g[i];
    g[i] = v < lo ? lo : (v > hi ? hi : v);
  });
}

}  // namespace ouro::kernels
