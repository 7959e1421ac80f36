#include "ouro/ops/softmax.h"

#include "helpers.h"
#include "ouro/kernels/cpu/softmax.h"

namespace ouro {
using namespace ops_detail;

namespace {

// x's shape seen as [outer, n, inner] around the softmax dimension.
struct SoftmaxLayout {
  std::int64_t outer = 1, n = 1, inner = 1;
};

SoftmaxLayout softmax_layout(const char* op, const Tensor& x, std::int64_t dim) {
  SoftmaxLayout layout;
  if (x.dim() == 0) {  // a scalar is a single row of one element, as in PyTorch
    OURO_CHECK(dim == 0 || dim == -1, op, ": dimension ", dim, " is out of range for a tensor of rank 0");
    return layout;
  }
  const std::int64_t d = normalize_dim(dim, x.dim(), op);
  for (std::int64_t i = 0; i < d; ++i) layout.outer *= x.shape()[i];
  layout.n = x.shape()[d];
  for (std::int64_t i = d + 1; i < x.dim(); ++i) layout.inner *= x.shape()[i];
  return layout;
}

template <bool LogSoftmax>
struct SoftmaxBackward : Node {
  Tensor output;  // detached and contiguous
  SoftmaxLayout layout;
  const char* name() const override { return LogSoftmax ? "log_softmax" : "softmax"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    dispatch_floating(g.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (LogSoftmax)
        kernels::log_softmax_backward<T>(output.data<T>(), g.data<T>(), buffer.data<T>(), layout.outer, layout.n,
                                         layout.inner);
      else
        kernels::softmax_backward<T>(output.data<T>(), g.data<T>(), buffer.data<T>(), layout.outer, layout.n,
                                     layout.inner);
    });
  }
  void release() override { output = Tensor(); }
};

template <bool LogSoftmax>
Tensor softmax_op(const char* op, const Tensor& x, std::int64_t dim) {
  check_floating(op, x);
  const SoftmaxLayout layout = softmax_layout(op, x, dim);
  const Tensor input = materialize(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (LogSoftmax)
      kernels::log_softmax_forward<T>(input.data<T>(), out.data<T>(), layout.outer, layout.n, layout.inner);
    else
      kernels::softmax_forward<T>(input.data<T>(), out.data<T>(), layout.outer, layout.n, layout.inner);
  });
  if (auto node = record<SoftmaxBackward<LogSoftmax>>(out, {x})) {
    node->output = out.detach();
    node->layout = layout;
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_op<false>("softmax", x, dim); }

Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_op<true>("log_softmax", x, dim); }

}  // namespace ouro
