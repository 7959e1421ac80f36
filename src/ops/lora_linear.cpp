#include "ouro/ops/lora_linear.h"

#include <algorithm>

#include "helpers.h"
#include "ouro/kernels/cpu/gemm.h"

namespace ouro {
using namespace ops_detail;

namespace {

// Inputs: 0 x, 1 weight, 2 bias, 3 lora_a, 4 lora_b, 5 x_lora.
struct LoraLinearBackward : Node {
  Tensor x, x_lora, weight, lora_a, lora_b, hidden;  // contiguous, detached; hidden = x_lora @ A^T
  bool separate_x_lora = false;
  double scale = 1;
  std::int64_t rows = 0, in = 0, out = 0, rank = 0;
  const char* name() const override { return "lora_linear"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), "lora_linear backward", [&](auto tag) {
      using T = decltype(tag);
      const T* gp = g.data<T>();
      const T s = static_cast<T>(scale);
      if (sink.wants(0))  // dx += g @ W
        kernels::gemm(false, false, rows, in, out, T(1), gp, out, weight.data<T>(), in, T(1),
                      sink.buffer(0).data<T>(), in);
      if (sink.wants(1))  // dW += g^T @ x
        kernels::gemm(true, false, out, in, rows, T(1), gp, out, x.data<T>(), in, T(1), sink.buffer(1).data<T>(), in);
      if (sink.wants(2)) {  // db += column sums of g, rows in order (deterministic)
        T* db = sink.buffer(2).data<T>();
        for (std::int64_t r = 0; r < rows; ++r) {
          const T* row = gp + r * out;
#pragma omp simd
          for (std::int64_t o = 0; o < out; ++o) db[o] += row[o];
        }
      }
      if (sink.wants(4))  // dB += scale * g^T @ hidden
        kernels::gemm(true, false, out, rank, rows, s, gp, out, hidden.data<T>(), rank, T(1),
                      sink.buffer(4).data<T>(), rank);
      const bool wants_x_lora = separate_x_lora ? sink.wants(5) : sink.wants(0);
      if (!sink.wants(3) && !wants_x_lora) return;
      // d(hidden) = scale * g @ B: [rows, r], small.
      Tensor d_hidden = Tensor::empty({rows, rank}, g.dtype());
      T* dh = d_hidden.data<T>();
      kernels::gemm(false, false, rows, rank, out, s, gp, out, lora_b.data<T>(), rank, T(0), dh, rank);
      if (sink.wants(3))  // dA += d(hidden)^T @ x_lora
        kernels::gemm(true, false, rank, in, rows, T(1), dh, rank, x_lora.data<T>(), in, T(1),
                      sink.buffer(3).data<T>(), in);
      if (wants_x_lora)  // d(x_lora) += d(hidden) @ A; x_lora is x itself without dropout
        kernels::gemm(false, false, rows, in, rank, T(1), dh, rank, lora_a.data<T>(), in, T(1),
                      sink.buffer(separate_x_lora ? 5 : 0).data<T>(), in);
    });
  }
  void release() override { x = x_lora = weight = lora_a = lora_b = hidden = Tensor(); }
};

}  // namespace

Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& lora_a,
                   const Tensor& lora_b, double scale, const Tensor& x_lora) {
  check_floating("lora_linear", x);
  check_same_dtype("lora_linear", x, weight);
  check_same_dtype("lora_linear", x, lora_a);
  check_same_dtype("lora_linear", x, lora_b);
  OURO_CHECK(weight.dim() == 2, "lora_linear: weight must be [out, in], got shape ", shape_str(weight.shape()));
  const std::int64_t out = weight.size(0), in = weight.size(1);
  OURO_CHECK(x.dim() >= 1 && x.shape().back() == in, "lora_linear: input of shape ", shape_str(x.shape()),
             " does not end in the weight's in-size ", in, " (weight ", shape_str(weight.shape()), ")");
  OURO_CHECK(lora_a.dim() == 2 && lora_a.size(1) == in && lora_a.size(0) > 0, "lora_linear: lora_a must be [r, ",
             in, "], got shape ", shape_str(lora_a.shape()));
  const std::int64_t rank = lora_a.size(0);
  OURO_CHECK(lora_b.dim() == 2 && lora_b.size(0) == out && lora_b.size(1) == rank, "lora_linear: lora_b must be [",
             out, ", ", rank, "], got shape ", shape_str(lora_b.shape()));
  if (bias.defined()) {
    check_same_dtype("lora_linear", x, bias);
    OURO_CHECK(bias.dim() == 1 && bias.size(0) == out, "lora_linear: bias of shape ", shape_str(bias.shape()),
               " does not match the weight's out-size ", out);
  }
  if (x_lora.defined()) {
    check_same_dtype("lora_linear", x, x_lora);
    OURO_CHECK(x_lora.shape() == x.shape(), "lora_linear: x_lora of shape ", shape_str(x_lora.shape()),
               " differs from the input's ", shape_str(x.shape()));
  }
  const Tensor xc = materialize(x);
  const Tensor xl = x_lora.defined() ? materialize(x_lora) : xc;
  const Tensor wc = materialize(weight), ac = materialize(lora_a), bc = materialize(lora_b);
  const std::int64_t rows = in == 0 ? 0 : xc.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, x.dtype());
  Tensor hidden = Tensor::empty({rows, rank}, x.dtype());
  dispatch_floating(x.dtype(), "lora_linear", [&](auto tag) {
    using T = decltype(tag);
    T* yp = y.data<T>();
    T beta = T(0);
    if (bias.defined()) {
      const Tensor bias_c = materialize(bias);
      const T* bp = bias_c.data<T>();
      for (std::int64_t r = 0; r < rows; ++r) std::copy_n(bp, out, yp + r * out);
      beta = T(1);
    }
    if (in == 0) {  // no GEMM runs: y is the bias, or zeros
      if (!bias.defined()) std::fill_n(yp, rows * out, T(0));
      return;
    }
    kernels::gemm(false, true, rows, out, in, T(1), xc.data<T>(), in, wc.data<T>(), in, beta, yp, out);
    T* hp = hidden.data<T>();
    kernels::gemm(false, true, rows, rank, in, T(1), xl.data<T>(), in, ac.data<T>(), in, T(0), hp, rank);
    // y += scale * hidden @ B^T, accumulated by the GEMM itself.
    kernels::gemm(false, true, rows, out, rank, static_cast<T>(scale), hp, rank, bc.data<T>(), rank, T(1), yp, out);
  });
  if (auto node = record<LoraLinearBackward>(y, {x, weight, bias, lora_a, lora_b, x_lora})) {
    node->x = xc;
    node->x_lora = xl;
    node->separate_x_lora = x_lora.defined();
    node->weight = wc;
    node->lora_a = ac;
    node->lora_b = bc;
    node->hidden = hidden;
    node->scale = scale;
    node->rows = rows;
    node->in = in;
    node->out = out;
    node->rank = rank;
  }
  return y;
}

}  // namespace ouro
