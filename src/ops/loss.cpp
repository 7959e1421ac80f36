#include "ouro/ops/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "helpers.h"
#include "ouro/kernels/cpu/loss.h"

namespace ouro {
using namespace ops_detail;

namespace {

// t's values at the broadcast shape `shape`, contiguous and detached (t itself when it already is).
Tensor contiguous_as(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return materialize(t);
  Tensor out = Tensor::empty(shape, t.dtype());
  const Strides strides = broadcast_strides(t, shape);
  dispatch_floating(t.dtype(), "loss", [&](auto tag) {
    using T = decltype(tag);
    kernels::strided_copy<T, T>(static_cast<std::int64_t>(shape.size()), shape.data(), base_pointer<T>(t),
                                strides.data(), out.data<T>());
  });
  return out;
}

// An optional per-element tensor (weight, pos_weight) checked and expanded to `shape`.
Tensor optional_weight(const char* op, const char* what, const Tensor& weight, const Tensor& input) {
  if (!weight.defined()) return Tensor();
  check_same_dtype(op, input, weight);
  const Shape& shape = input.shape();
  const std::size_t lead = shape.size() - std::min(shape.size(), weight.shape().size());
  bool fits = weight.shape().size() <= shape.size();
  for (std::size_t d = 0; fits && d < weight.shape().size(); ++d)
    fits = weight.shape()[d] == 1 || weight.shape()[d] == shape[lead + d];
  OURO_CHECK(fits, op, ": ", what, " of shape ", shape_str(weight.shape()), " does not broadcast to the input's shape ",
             shape_str(shape));
  return contiguous_as(weight, input.shape());
}

void check_same_shape(const char* op, const char* what, const Tensor& input, const Tensor& target) {
  OURO_CHECK(input.shape() == target.shape(), op, ": ", what, " of shape ", shape_str(target.shape()),
             " differs from the input's shape ", shape_str(input.shape()));
}

// The 0-d result of a Mean or Sum reduction.
Tensor reduced_output(double total, double count, Reduction reduction, DType dtype) {
  return Tensor::scalar(reduction == Reduction::Mean ? total / count : total, dtype);
}

// How the upstream gradient reaches element i: g[i] for None, g[0] otherwise, times 1/count for Mean.
std::int64_t grad_stride(Reduction reduction) { return reduction == Reduction::None ? 1 : 0; }
template <typename T>
T grad_scale(Reduction reduction, double count) {
  return reduction == Reduction::Mean ? static_cast<T>(1.0 / count) : T(1);
}

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
const T* const_data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Where a backward kernel adds input i's gradient: the engine's buffer when the input has the
// loss's elementwise shape, else a zero tensor of that shape summed down afterwards (finish).
// Undefined when input i takes no gradient. Buffers are copied as handles, since the sink may
// hand out the same slot object for different inputs.
Tensor gradient_destination(GradientSink& sink, const Node& node, std::size_t i, const Shape& shape, DType dtype) {
  if (!sink.wants(i)) return Tensor();
  if (node.inputs[i].shape() == shape) return sink.buffer(i);
  return Tensor::zeros(shape, dtype);
}
void finish(GradientSink& sink, const Node& node, std::size_t i, const Tensor& destination) {
  if (destination.defined() && node.inputs[i].shape() != destination.shape()) sink.accumulate(i, destination);
}

// ---- mse, l1, huber ----

template <typename Term>
struct RegressionLossBackward : Node {
  Tensor input, target;  // contiguous, at the broadcast shape
  Reduction reduction = Reduction::Mean;
  Term term;
  const char* op = "";
  const char* name() const override { return op; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const Shape& shape = input.shape();
    const Tensor grad_input = gradient_destination(sink, *this, 0, shape, input.dtype());
    const Tensor grad_target = gradient_destination(sink, *this, 1, shape, input.dtype());
    dispatch_floating(input.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::regression_loss_backward<T>(input.data<T>(), target.data<T>(), input.numel(), g.data<T>(),
                                           grad_stride(reduction),
                                           grad_scale<T>(reduction, static_cast<double>(input.numel())),
                                           data_or_null<T>(grad_input), data_or_null<T>(grad_target), term);
    });
    finish(sink, *this, 0, grad_input);
    finish(sink, *this, 1, grad_target);
  }
  void release() override { input = target = Tensor(); }
};

template <typename Term>
Tensor regression_loss(const char* op, const Tensor& input, const Tensor& target, Reduction reduction, Term term) {
  check_floating(op, input);
  check_same_dtype(op, input, target);
  const Shape shape = broadcast_shapes(input.shape(), target.shape(), op);
  const Tensor x = contiguous_as(input, shape), y = contiguous_as(target, shape);
  const std::int64_t n = x.numel();
  Tensor out = dispatch_floating(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (reduction == Reduction::None) {
      Tensor losses = Tensor::empty(shape, input.dtype());
      kernels::regression_loss_forward<T>(x.data<T>(), y.data<T>(), n, losses.data<T>(), term);
      return losses;
    }
    const double total = kernels::regression_loss_forward<T>(x.data<T>(), y.data<T>(), n, nullptr, term);
    return reduced_output(total, static_cast<double>(n), reduction, input.dtype());
  });
  if (auto node = record<RegressionLossBackward<Term>>(out, {input, target})) {
    node->input = x;
    node->target = y;
    node->reduction = reduction;
    node->term = term;
    node->op = op;
  }
  return out;
}

// ---- binary cross-entropy ----

struct BinaryCrossEntropyBackward : Node {
  Tensor probabilities, target, weight;  // contiguous, the input's shape; weight may be undefined
  Reduction reduction = Reduction::Mean;
  const char* name() const override { return "binary_cross_entropy"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const Shape& shape = probabilities.shape();
    const Tensor grad_p = gradient_destination(sink, *this, 0, shape, probabilities.dtype());
    const Tensor grad_t = gradient_destination(sink, *this, 1, shape, probabilities.dtype());
    dispatch_floating(probabilities.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      kernels::binary_cross_entropy_backward<T>(
          probabilities.data<T>(), target.data<T>(), const_data_or_null<T>(weight), probabilities.numel(),
          g.data<T>(), grad_stride(reduction), grad_scale<T>(reduction, static_cast<double>(probabilities.numel())),
          data_or_null<T>(grad_p), data_or_null<T>(grad_t));
    });
  }
  void release() override { probabilities = target = weight = Tensor(); }
};

struct BinaryCrossEntropyWithLogitsBackward : Node {
  Tensor logits, target, weight, pos_weight;  // contiguous, the input's shape; the weights may be undefined
  Reduction reduction = Reduction::Mean;
  const char* name() const override { return "binary_cross_entropy_with_logits"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const Shape& shape = logits.shape();
    const Tensor grad_x = gradient_destination(sink, *this, 0, shape, logits.dtype());
    const Tensor grad_t = gradient_destination(sink, *this, 1, shape, logits.dtype());
    dispatch_floating(logits.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      kernels::bce_with_logits_backward<T>(logits.data<T>(), target.data<T>(), const_data_or_null<T>(weight),
                                           const_data_or_null<T>(pos_weight), logits.numel(), g.data<T>(),
                                           grad_stride(reduction),
                                           grad_scale<T>(reduction, static_cast<double>(logits.numel())),
                                           data_or_null<T>(grad_x), data_or_null<T>(grad_t));
    });
  }
  void release() override { logits = target = weight = pos_weight = Tensor(); }
};

// ---- cross-entropy and nll over rows of the last dimension ----

// Checks that class-index targets have the logits' shape without its last dimension.
void check_index_target(const char* op, const Tensor& input, const Tensor& target) {
  OURO_CHECK(input.dim() >= 1, op, ": expected input with classes along the last dimension, got a 0-d ",
             input.describe());
  OURO_CHECK(input.shape().back() > 0, op, ": input of shape ", shape_str(input.shape()), " has no classes");
  OURO_CHECK(target.dtype() == DType::Int64, op, ": class-index target must be int64, got a ", target.describe());
  const Shape expected(input.shape().begin(), input.shape().end() - 1);
  OURO_CHECK(target.shape() == expected, op, ": target of shape ", shape_str(target.shape()),
             " does not match input of shape ", shape_str(input.shape()), ": expected target shape ",
             shape_str(expected),
             " (classes lie along the last dimension; permute PyTorch's [N, C, d...] to [N, d..., C])");
}

// Throws on a target outside [0, classes) other than ignore_index; returns how many are not ignored.
std::int64_t count_valid_targets(const char* op, const Tensor& targets, std::int64_t classes,
                                 std::int64_t ignore_index) {
  const std::int64_t* t = targets.data<std::int64_t>();
  std::int64_t valid = 0;
  for (std::int64_t r = 0; r < targets.numel(); ++r) {
    if (t[r] == ignore_index) continue;
    OURO_CHECK(t[r] >= 0 && t[r] < classes, op, ": target ", t[r], " at position ", r, " is out of range for ",
               classes, " classes (expected 0 <= target < ", classes, ", or ignore_index ", ignore_index, ")");
    ++valid;
  }
  return valid;
}

// The per-row losses as the None output, or their sum in row order (divided by count for Mean).
Tensor row_output(const std::vector<double>& losses, const Shape& shape, double count, Reduction reduction,
                  DType dtype) {
  if (reduction == Reduction::None) {
    Tensor out = Tensor::empty(shape, dtype);
    dispatch_floating(dtype, "loss", [&](auto tag) {
      using T = decltype(tag);
      T* o = out.data<T>();
      for (std::size_t r = 0; r < losses.size(); ++r) o[r] = static_cast<T>(losses[r]);
    });
    return out;
  }
  double total = 0;
  for (double l : losses) total += l;
  return reduced_output(total, count, reduction, dtype);
}

struct CrossEntropyBackward : Node {
  Tensor logits, targets, row_max, row_log_sum;  // logits contiguous [rows, C]; the rest [rows]
  Reduction reduction = Reduction::Mean;
  double count = 0, label_smoothing = 0;
  std::int64_t ignore_index = -100;
  const char* name() const override { return "cross_entropy"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    const Tensor grad = sink.buffer(0);
    const std::int64_t classes = logits.shape().back();
    dispatch_floating(logits.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      kernels::cross_entropy_backward<T>(logits.data<T>(), targets.data<std::int64_t>(), row_max.data<T>(),
                                         row_log_sum.data<T>(), targets.numel(), classes, ignore_index, label_smoothing, g.data<T>(),
                                         grad_stride(reduction), grad_scale<T>(reduction, count), grad.data<T>());
    });
  }
  void release() override { logits = targets = row_max = row_log_sum = Tensor(); }
};

struct SoftCrossEntropyBackward : Node {
  Tensor logits, targets, row_max, row_log_sum;  // logits, targets contiguous [rows, C]; the rest [rows]
  Reduction reduction = Reduction::Mean;
  double label_smoothing = 0;
  const char* name() const override { return "cross_entropy"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const std::int64_t classes = logits.shape().back();
    const std::int64_t rows = row_max.numel();
    const Tensor grad_x = gradient_destination(sink, *this, 0, logits.shape(), logits.dtype());
    const Tensor grad_t = gradient_destination(sink, *this, 1, logits.shape(), logits.dtype());
    dispatch_floating(logits.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      kernels::cross_entropy_soft_backward<T>(logits.data<T>(), targets.data<T>(), row_max.data<T>(),
                                              row_log_sum.data<T>(), rows, classes,
                                              label_smoothing, g.data<T>(), grad_stride(reduction),
                                              grad_scale<T>(reduction, static_cast<double>(rows)),
                                              data_or_null<T>(grad_x), data_or_null<T>(grad_t));
    });
  }
  void release() override { logits = targets = row_max = row_log_sum = Tensor(); }
};

struct NllLossBackward : Node {
  Tensor targets;
  std::int64_t classes = 0, ignore_index = -100;
  Reduction reduction = Reduction::Mean;
  double count = 0;
  const char* name() const override { return "nll_loss"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    const Tensor grad = sink.buffer(0);
    dispatch_floating(grad.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      kernels::nll_backward<T>(targets.data<std::int64_t>(), targets.numel(), classes, ignore_index, g.data<T>(),
                               grad_stride(reduction), grad_scale<T>(reduction, count), grad.data<T>());
    });
  }
  void release() override { targets = Tensor(); }
};

Tensor cross_entropy_with_indices(const Tensor& logits, const Tensor& target, Reduction reduction,
                                  std::int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy";
  check_index_target(op, logits, target);
  const std::int64_t classes = logits.shape().back();
  const Tensor x = materialize(logits), targets = materialize(target);
  const std::int64_t rows = targets.numel();
  const double count = static_cast<double>(count_valid_targets(op, targets, classes, ignore_index));
  Tensor row_max = Tensor::empty({rows}, logits.dtype()), row_log_sum = Tensor::empty({rows}, logits.dtype());
  std::vector<double> losses(static_cast<std::size_t>(rows));
  dispatch_floating(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cross_entropy_forward<T>(x.data<T>(), targets.data<std::int64_t>(), rows, classes, ignore_index,
                                      label_smoothing, row_max.data<T>(), row_log_sum.data<T>(), losses.data());
  });
  Tensor out = row_output(losses, target.shape(), count, reduction, logits.dtype());
  if (auto node = record<CrossEntropyBackward>(out, {logits})) {
    node->logits = x;
    node->targets = targets;
    node->row_max = row_max;
    node->row_log_sum = row_log_sum;
    node->reduction = reduction;
    node->count = count;
    node->label_smoothing = label_smoothing;
    node->ignore_index = ignore_index;
  }
  return out;
}

Tensor cross_entropy_with_distributions(const Tensor& logits, const Tensor& target, Reduction reduction,
                                        double label_smoothing) {
  const char* op = "cross_entropy";
  check_same_dtype(op, logits, target);
  OURO_CHECK(logits.dim() >= 1 && logits.shape().back() > 0, op, ": expected logits with classes along the last ",
             "dimension, got a ", logits.describe());
  OURO_CHECK(target.shape() == logits.shape(), op, ": probability target of shape ", shape_str(target.shape()),
             " differs from the logits' shape ", shape_str(logits.shape()),
             " (class-index targets must be int64)");
  const std::int64_t classes = logits.shape().back();
  const std::int64_t rows = logits.numel() / classes;
  const Tensor x = materialize(logits), t = materialize(target);
  Tensor row_max = Tensor::empty({rows}, logits.dtype()), row_log_sum = Tensor::empty({rows}, logits.dtype());
  std::vector<double> losses(static_cast<std::size_t>(rows));
  dispatch_floating(logits.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::cross_entropy_soft_forward<T>(x.data<T>(), t.data<T>(), rows, classes, label_smoothing,
                                           row_max.data<T>(), row_log_sum.data<T>(), losses.data());
  });
  const Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  Tensor out = row_output(losses, row_shape, static_cast<double>(rows), reduction, logits.dtype());
  if (auto node = record<SoftCrossEntropyBackward>(out, {logits, target})) {
    node->logits = x;
    node->targets = t;
    node->row_max = row_max;
    node->row_log_sum = row_log_sum;
    node->reduction = reduction;
    node->label_smoothing = label_smoothing;
  }
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return regression_loss("mse_loss", input, target, reduction, kernels::SquaredErrorTerm{});
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return regression_loss("l1_loss", input, target, reduction, kernels::AbsoluteErrorTerm{});
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  OURO_CHECK(delta > 0, "huber_loss: delta must be positive, got ", delta);
  return regression_loss("huber_loss", input, target, reduction, kernels::HuberTerm{delta});
}

Tensor binary_cross_entropy(const Tensor& probabilities, const Tensor& target, Reduction reduction,
                            const Tensor& weight) {
  const char* op = "binary_cross_entropy";
  check_floating(op, probabilities);
  check_same_dtype(op, probabilities, target);
  check_same_shape(op, "target", probabilities, target);
  const Tensor p = materialize(probabilities), t = materialize(target);
  const Tensor w = optional_weight(op, "weight", weight, probabilities);
  const std::int64_t n = p.numel();
  Tensor out = dispatch_floating(p.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pv = p.data<T>();
    for (std::int64_t i = 0; i < n; ++i)  // written so that NaN fails too, as in PyTorch
      OURO_CHECK(pv[i] >= T(0) && pv[i] <= T(1), op, ": probabilities must lie in [0, 1], found ", pv[i],
                 " at element ", i, " (for logits use binary_cross_entropy_with_logits)");
    if (reduction == Reduction::None) {
      Tensor losses = Tensor::empty(p.shape(), p.dtype());
      kernels::binary_cross_entropy_forward<T>(pv, t.data<T>(), const_data_or_null<T>(w), n, losses.data<T>());
      return losses;
    }
    const double total = kernels::binary_cross_entropy_forward<T>(pv, t.data<T>(), const_data_or_null<T>(w), n, nullptr);
    return reduced_output(total, static_cast<double>(n), reduction, p.dtype());
  });
  if (auto node = record<BinaryCrossEntropyBackward>(out, {probabilities, target})) {
    node->probabilities = p;
    node->target = t;
    node->weight = w;
    node->reduction = reduction;
  }
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction,
                                        const Tensor& weight, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  check_floating(op, logits);
  check_same_dtype(op, logits, target);
  check_same_shape(op, "target", logits, target);
  const Tensor x = materialize(logits), t = materialize(target);
  const Tensor w = optional_weight(op, "weight", weight, logits);
  const Tensor pw = optional_weight(op, "pos_weight", pos_weight, logits);
  const std::int64_t n = x.numel();
  Tensor out = dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (reduction == Reduction::None) {
      Tensor losses = Tensor::empty(x.shape(), x.dtype());
      kernels::bce_with_logits_forward<T>(x.data<T>(), t.data<T>(), const_data_or_null<T>(w),
                                          const_data_or_null<T>(pw), n, losses.data<T>());
      return losses;
    }
    const double total = kernels::bce_with_logits_forward<T>(x.data<T>(), t.data<T>(), const_data_or_null<T>(w),
                                                             const_data_or_null<T>(pw), n, nullptr);
    return reduced_output(total, static_cast<double>(n), reduction, x.dtype());
  });
  if (auto node = record<BinaryCrossEntropyWithLogitsBackward>(out, {logits, target})) {
    node->logits = x;
    node->target = t;
    node->weight = w;
    node->pos_weight = pw;
    node->reduction = reduction;
  }
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, std::int64_t ignore_index,
                     double label_smoothing) {
  check_floating("cross_entropy", logits);
  OURO_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy: label_smoothing must lie in [0, 1], got ",
             label_smoothing);
  if (target.dtype() == DType::Int64)
    return cross_entropy_with_indices(logits, target, reduction, ignore_index, label_smoothing);
  return cross_entropy_with_distributions(logits, target, reduction, label_smoothing);
}

Tensor nll_loss(const Tensor& log_probabilities, const Tensor& target, Reduction reduction,
                std::int64_t ignore_index) {
  const char* op = "nll_loss";
  check_floating(op, log_probabilities);
  check_index_target(op, log_probabilities, target);
  const std::int64_t classes = log_probabilities.shape().back();
  const Tensor x = materialize(log_probabilities), targets = materialize(target);
  const std::int64_t rows = targets.numel();
  const double count = static_cast<double>(count_valid_targets(op, targets, classes, ignore_index));
  std::vector<double> losses(static_cast<std::size_t>(rows));
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::nll_forward<T>(x.data<T>(), targets.data<std::int64_t>(), rows, classes, ignore_index, losses.data());
  });
  Tensor out = row_output(losses, target.shape(), count, reduction, x.dtype());
  if (auto node = record<NllLossBackward>(out, {log_probabilities})) {
    node->targets = targets;
    node->classes = classes;
    node->ignore_index = ignore_index;
    node->reduction = reduction;
    node->count = count;
  }
  return out;
}

}  // namespace ouro
