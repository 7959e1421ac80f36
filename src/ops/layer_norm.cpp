#include "ouro/ops/layer_norm.h"

#include <cmath>

#include "helpers.h"
#include "ouro/kernels/cpu/layer_norm.h"

namespace ouro {
using namespace ops_detail;

namespace {

struct LayerNormBackward : Node {
  Tensor input, weight, mean, rstd;  // detached and contiguous; weight may be undefined
  std::int64_t rows = 0, n = 0;
  const char* name() const override { return "layer_norm"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), "layer_norm", [&](auto tag) {
      using T = decltype(tag);
      T* dx = sink.wants(0) ? sink.buffer(0).template data<T>() : nullptr;
      T* dweight = sink.wants(1) ? sink.buffer(1).template data<T>() : nullptr;
      T* dbias = sink.wants(2) ? sink.buffer(2).template data<T>() : nullptr;
      kernels::layer_norm_backward<T>(g.data<T>(), input.data<T>(), mean.data<T>(), rstd.data<T>(),
                                      weight.defined() ? weight.data<T>() : nullptr, dx, dweight, dbias, rows, n);
    });
  }
  void release() override { input = weight = mean = rstd = Tensor(); }
};

void check_affine(const char* role, const Tensor& t, const Tensor& x, const Shape& normalized_shape) {
  if (!t.defined()) return;
  OURO_CHECK(t.shape() == normalized_shape, "layer_norm: ", role, " of shape ", shape_str(t.shape()),
             " does not match normalized_shape ", shape_str(normalized_shape));
  OURO_CHECK(t.dtype() == x.dtype(), "layer_norm: ", role, " is ", dtype_name(t.dtype()), " but the input is ",
             dtype_name(x.dtype()));
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_floating("layer_norm", x);
  const std::int64_t norm_rank = static_cast<std::int64_t>(normalized_shape.size());
  bool matches = norm_rank >= 1 && norm_rank <= x.dim();
  for (std::int64_t i = 0; matches && i < norm_rank; ++i)
    matches = x.shape()[x.dim() - norm_rank + i] == normalized_shape[i];
  OURO_CHECK(matches, "layer_norm: normalized_shape ", shape_str(normalized_shape),
             " does not match the trailing dimensions of the input of shape ", shape_str(x.shape()));
  check_affine("weight", weight, x, normalized_shape);
  check_affine("bias", bias, x, normalized_shape);
  OURO_CHECK(std::isfinite(eps) && eps >= 0, "layer_norm: eps must be finite and non-negative, got ", eps);

  const std::int64_t n = shape_numel(normalized_shape);
  const std::int64_t rows = n == 0 ? 0 : x.numel() / n;
  const Tensor input = materialize(x);
  const Tensor w = weight.defined() ? materialize(weight) : Tensor();
  const Tensor b = bias.defined() ? materialize(bias) : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor mean = Tensor::empty({rows}, x.dtype());
  Tensor rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    kernels::layer_norm_forward<T>(input.data<T>(), w.defined() ? w.data<T>() : nullptr,
                                   b.defined() ? b.data<T>() : nullptr, out.data<T>(), mean.data<T>(),
                                   rstd.data<T>(), rows, n, eps);
  });
  if (auto node = record<LayerNormBackward>(out, {x, weight, bias})) {
    node->input = input;
    node->weight = w;
    node->mean = mean;
    node->rstd = rstd;
    node->rows = rows;
    node->n = n;
  }
  return out;
}

}  // namespace ouro
