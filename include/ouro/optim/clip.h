// Gradient clipping over a set of parameters, as torch.nn.utils.clip_grad_norm_ and
// clip_grad_value_ (1.13): gradients are changed in place; parameters without one are skipped.
#pragma once
#include <limits>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// Scales every gradient by min(1, max_norm / (total + 1e-6)), where total is the norm_type-norm
// of all gradients taken as one vector (norm_type may be infinity). Returns total, before
// clipping. The norm is accumulated in double in a fixed order.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2);

// Clamps every gradient element into [-clip, clip].
void clip_grad_value(const std::vector<Tensor>& params, double clip);

}  // namespace ouro
