// Shared plumbing for op implementations (private to src/ops): dtype checks, broadcast
// strides, raw contiguous copies, and the generic elementwise forward/backward shapes.
#pragma once
#include <string>

#include "ouro/autograd/node.h"
#include "ouro/core/error.h"
#include "ouro/kernels/cpu/elementwise.h"
#include "ouro/kernels/cpu/strided.h"
#include "ouro/tensor/tensor.h"

namespace ouro::ops_detail {

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  OURO_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", a.describe(), " and ", b.describe());
}

inline void check_floating(const char* op, const Tensor& t) {
  OURO_CHECK(is_floating(t.dtype()), op, ": expected a floating tensor, got a ", t.describe());
}

// t's strides as seen from the broadcast shape `target`: 0 on new or stretched dimensions.
inline Strides broadcast_strides(const Tensor& t, const Shape& target) {
  Strides out(target.size(), 0);
  const std::size_t lead = target.size() - t.shape().size();
  for (std::size_t d = 0; d < t.shape().size(); ++d)
    out[lead + d] = t.shape()[d] == 1 ? 0 : t.strides()[d];
  return out;
}

// A contiguous tensor with t's values: t itself when already contiguous. Records nothing.
inline Tensor materialize(const Tensor& t) {
  if (t.is_contiguous()) return t.detach();
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(t.impl().storage->data) + t.offset();
    kernels::strided_copy<T, T>(t.dim(), t.shape().data(), base, t.strides().data(), out.data<T>());
  });
  return out;
}

// Pointer to element 0 of t (which may be a view), typed.
template <typename T>
const T* base_pointer(const Tensor& t) {
  return static_cast<const T*>(t.impl().storage->data) + t.offset();
}

// out = f(a, b) with broadcasting and any strides. f is generic in T.
template <typename F>
Tensor broadcast_binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_same_dtype(op, a, b);
  check_floating(op, a);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, a.dtype());
  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
      kernels::binary_map<T>(a.data<T>(), b.data<T>(), out.data<T>(), out.numel(), f);
    } else {
      const Strides sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
      kernels::binary_map_strided<T>(static_cast<std::int64_t>(shape.size()), shape.data(), base_pointer<T>(a),
                                     sa.data(), base_pointer<T>(b), sb.data(), out.data<T>(), f);
    }
  });
  return out;
}

// y = f(x) elementwise on a contiguous copy of x; returns {y, the contiguous x}.
template <typename F>
std::pair<Tensor, Tensor> unary_forward(const char* op, const Tensor& x, F f) {
  check_floating(op, x);
  Tensor input = materialize(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::unary_map<T, T>(input.data<T>(), out.data<T>(), out.numel(), f);
  });
  return {out, input};
}

// grad_input (+)= f(grad_output, saved) elementwise, where saved has the input's shape and is
// contiguous: assigned when the gradient buffer is new, added otherwise.
template <typename F>
void unary_backward(GradientSink& sink, std::size_t input, const Tensor& grad_output, const Tensor& saved, F f) {
  if (!sink.wants(input)) return;
  bool fresh = false;
  Tensor& buffer = sink.buffer_to_assign(input, fresh);
  dispatch_floating(buffer.dtype(), "backward", [&](auto tag) {
    using T = decltype(tag);
    if (fresh)
      kernels::binary_map<T>(grad_output.data<T>(), saved.data<T>(), buffer.data<T>(), buffer.numel(), f);
    else
      kernels::binary_accumulate<T>(grad_output.data<T>(), saved.data<T>(), buffer.data<T>(), buffer.numel(), f);
  });
}

}  // namespace ouro::ops_detail
