// Loss functions with their backward, matching torch.nn.functional in float32 and float64:
// mse, l1, huber, binary cross-entropy (on probabilities and on logits), cross-entropy (fused
// with log-softmax; class-index or probability targets) and nll.
//
// Every loss takes `reduction` as its third argument: Mean (the default) and Sum give a 0-d
// tensor, None the per-element (or, for cross_entropy / nll_loss, per-row) losses.
//
// Classes lie along the LAST dimension for cross_entropy and nll_loss: logits [..., C] with
// targets [...], e.g. [N, C] with [N] (as PyTorch) and [B, T, C] with [B, T] (a language
// model's output as it comes). PyTorch's [N, C, d1, ...] layout is not accepted: permute it to
// [N, d1, ..., C] first. Reductions over rows are deterministic (rows are reduced in order).
#pragma once
#include <cstdint>

#include "ouro/tensor/tensor.h"

namespace ouro {

enum class Reduction { Mean, Sum, None };

// (input - target)^2. target broadcasts against input (None returns the broadcast shape);
// both receive gradients.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// |input - target| (mean absolute error); the gradient at input == target is 0.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target (PyTorch's
// huber_loss; delta > 0).
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                  double delta = 1.0);
inline Tensor huber_loss(const Tensor& input, const Tensor& target, double delta,
                         Reduction reduction = Reduction::Mean) {
  return huber_loss(input, target, reduction, delta);
}

// -w (t log p + (1 - t) log(1 - p)), each log clamped to >= -100 as in PyTorch, so p = 0 or 1
// stays finite. probabilities must lie in [0, 1]; target has their shape and may be soft (and
// may require grad); weight (optional) broadcasts against them and receives no gradient.
// Mean divides by the element count, not by the sum of the weights (as PyTorch). The target's
// gradient is the derivative of this clamped loss, so at p = 0 or 1 it is +-100 where PyTorch's is +-inf.
Tensor binary_cross_entropy(const Tensor& probabilities, const Tensor& target,
                            Reduction reduction = Reduction::Mean, const Tensor& weight = Tensor());
// The same on logits, computed stably as max(x, 0) - x t + log1p(exp(-|x|)); with pos_weight
// the positive term t log sigmoid(x) is scaled by it, as in PyTorch. weight and pos_weight
// (optional) broadcast against the logits (pos_weight is usually [C]) and receive no gradient.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor());

// Cross-entropy of softmax(logits) along the last dimension, fused with log-softmax (stable
// for logits of any magnitude). `target` is either
//  - int64 class indices of shape logits.shape[:-1], each in [0, C) or equal to ignore_index:
//    ignored entries lose 0 and do not count in the Mean's denominator, so an all-ignored
//    batch gives NaN under Mean, as in PyTorch (its gradient is zero);
//  - or a floating tensor of the logits' shape and dtype holding a distribution per row
//    (probabilities or one-hot), which may require grad; ignore_index does not apply.
// label_smoothing eps in [0, 1] mixes the target with the uniform distribution, PyTorch's
// definition: loss = (1 - eps) nll + eps mean_c(-log p_c). Mean divides by the row count.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     std::int64_t ignore_index = -100, double label_smoothing = 0.0);

// Negative log-likelihood: -log_probabilities[..., target], log_probabilities [..., C] (e.g.
// the output of a log-softmax), int64 targets [...], with ignore_index as in cross_entropy.
Tensor nll_loss(const Tensor& log_probabilities, const Tensor& target, Reduction reduction = Reduction::Mean,
                std::int64_t ignore_index = -100);

}  // namespace ouro
