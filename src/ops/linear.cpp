#include "ouro/ops/linear.h"

#include <algorithm>

#include "helpers.h"
#include "ouro/kernels/cpu/gemm.h"

namespace ouro {
using namespace ops_detail;

namespace {

struct LinearBackward : Node {
  Tensor x, weight;  // contiguous, detached
  std::int64_t rows = 0, in = 0, out = 0;
  const char* name() const override { return "linear"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), "linear backward", [&](auto tag) {
      using T = decltype(tag);
      const T* gp = g.data<T>();
      if (sink.wants(0))  // dx[rows, in] += g[rows, out] @ W[out, in]
        kernels::gemm(false, false, rows, in, out, T(1), gp, out, weight.data<T>(), in, T(1),
                      sink.buffer(0).data<T>(), in);
      if (sink.wants(1))  // dW[out, in] += g^T @ x
        kernels::gemm(true, false, out, in, rows, T(1), gp, out, x.data<T>(), in, T(1), sink.buffer(1).data<T>(), in);
      if (sink.wants(2)) {  // db += column sums of g, rows in order (deterministic)
        T* db = sink.buffer(2).data<T>();
        for (std::int64_t r = 0; r < rows; ++r) {
          const T* row = gp + r * out;
#pragma omp simd
          for (std::int64_t o = 0; o < out; ++o) db[o] += row[o];
        }
      }
    });
  }
  void release() override { x = weight = Tensor(); }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_same_dtype("linear", x, weight);
  check_floating("linear", x);
  OURO_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got shape ", shape_str(weight.shape()));
  const std::int64_t out = weight.size(0), in = weight.size(1);
  OURO_CHECK(x.dim() >= 1 && x.shape().back() == in, "linear: input of shape ", shape_str(x.shape()),
             " does not end in the weight's in-size ", in, " (weight ", shape_str(weight.shape()), ")");
  if (bias.defined()) {
    check_same_dtype("linear", x, bias);
    OURO_CHECK(bias.dim() == 1 && bias.size(0) == out, "linear: bias of shape ", shape_str(bias.shape()),
               " does not match the weight's out-size ", out);
  }
  const Tensor xc = materialize(x);
  const Tensor wc = materialize(weight);
  const std::int64_t rows = in == 0 ? 0 : xc.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, x.dtype());
  dispatch_floating(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    T* yp = y.data<T>();
    T beta = T(0);
    if (bias.defined()) {
      const Tensor bc = materialize(bias);
      const T* bp = bc.data<T>();
      for (std::int64_t r = 0; r < rows; ++r) std::copy_n(bp, out, yp + r * out);
      beta = T(1);
    }
    if (in == 0) {
      if (!bias.defined()) std::fill_n(yp, rows * out, T(0));
      return;
    }
    kernels::gemm(false, true, rows, out, in, T(1), xc.data<T>(), in, wc.data<T>(), in, beta, yp, out);
  });
  if (auto node = record<LinearBackward>(y, {x, weight, bias})) {
    node->x = xc;
    node->weight = wc;
    node->rows = rows;
    node->in = in;
    node->out = out;
  }
  return y;
}

}  // namespace ouro
