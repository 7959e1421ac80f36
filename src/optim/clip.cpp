#include "ouro/optim/clip.h"

#include <algorithm>
#include <cmath>

#include "ouro/core/error.h"
#include "ouro/kernels/cpu/optim.h"

namespace ouro {

namespace {

// The gradients to clip, checked: torch clips every parameter that has one.
std::vector<Tensor> gradients(const std::vector<Tensor>& params, const char* who) {
  std::vector<Tensor> grads;
  for (std::size_t k = 0; k < params.size(); ++k) {
    OURO_CHECK(params[k].defined(), who, ": parameter ", k, " is an undefined tensor");
    Tensor g = params[k].grad();
    if (!g.defined()) continue;
    OURO_CHECK(is_floating(g.dtype()), who, ": parameter ", k, " has a ", g.describe(), " gradient");
    OURO_CHECK(g.is_contiguous(), who, ": parameter ", k, "'s gradient is not contiguous (", g.describe(), ")");
    grads.push_back(g);
  }
  return grads;
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  OURO_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  OURO_CHECK(norm_type > 0, "clip_grad_norm: norm_type must be > 0 (or infinity), got ", norm_type);
  const std::vector<Tensor> grads = gradients(params, "clip_grad_norm");
  if (grads.empty()) return 0;
  const bool infinity = std::isinf(norm_type);
  double total = 0;
  for (const Tensor& g : grads) {
    const double part = dispatch_floating(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      return kernels::grad_norm_sum<T>(g.data<T>(), g.numel(), norm_type, infinity);
    });
    if (infinity) total = (part > total || std::isnan(part)) ? part : total;
    else total += part;
  }
  if (!infinity) total = norm_type == 2 ? std::sqrt(total) : (norm_type == 1 ? total : std::pow(total, 1 / norm_type));
  // torch scales by the clamped coefficient even when it is 1 (a no-op), and by NaN when the norm is.
  const double coefficient = std::min(max_norm / (total + 1e-6), 1.0);
  if (coefficient == 1.0) return total;
  for (const Tensor& g : grads) {
    dispatch_floating(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      kernels::scale_in_place<T>(g.data<T>(), g.numel(), coefficient);
    });
  }
  return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip) {
  OURO_CHECK(clip >= 0, "clip_grad_value: clip must be >= 0, got ", clip);
  for (const Tensor& g : gradients(params, "clip_grad_value")) {
    dispatch_floating(g.dtype(), "clip_grad_value", [&](auto tag) {
      using T = decltype(tag);
      kernels::clamp_in_place<T>(g.data<T>(), g.numel(), clip);
    });
  }
}

}  // namespace ouro
