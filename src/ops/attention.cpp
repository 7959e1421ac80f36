#include "ouro/ops/attention.h"

#include <cmath>

#include "helpers.h"
#include "ouro/kernels/cpu/attention.h"

namespace ouro {
using namespace ops_detail;

namespace {

// The kernel reads any layout whose head dimension is contiguous (the q, k, v views a packed
// qkv projection gives); anything else is copied first.
Tensor rows_contiguous(const Tensor& t) { return t.strides()[3] == 1 || t.shape()[3] == 1 ? t.detach() : materialize(t); }

kernels::AttentionStrides strides_of(const Tensor& t) { return {t.strides()[0], t.strides()[1], t.strides()[2]}; }

struct AttentionBackward : Node {
  Tensor q, k, v, out, lse;  // detached; q, k, v, out with their own strides
  kernels::AttentionShape shape{};
  double scale = 1;
  const char* name() const override { return "scaled_dot_product_attention"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      T* grads[3] = {nullptr, nullptr, nullptr};
      for (std::size_t i = 0; i < 3; ++i)
        if (sink.wants(i)) grads[i] = sink.buffer(i).template data<T>();
      kernels::attention_backward<T>(shape, static_cast<T>(scale), base_pointer<T>(q), strides_of(q),
                                     base_pointer<T>(k), strides_of(k), base_pointer<T>(v), strides_of(v),
                                     base_pointer<T>(out), strides_of(out), g.data<T>(), strides_of(g),
                                     lse.data<T>(), grads[0], grads[1], grads[2]);
    });
  }
  void release() override { q = k = v = out = lse = Tensor(); }
};

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options) {
  const AttentionDims d = check_attention_inputs("scaled_dot_product_attention", q, k, v, options);
  // Attention dropout needs the probabilities themselves; the composition has them.
  if (options.training && options.dropout_p > 0) return scaled_dot_product_attention_reference(q, k, v, options);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(d.head_dim)));
  const kernels::AttentionShape shape{d.batch, d.heads, d.queries, d.keys, d.head_dim, options.causal};
  const Tensor qc = rows_contiguous(q), kc = rows_contiguous(k), vc = rows_contiguous(v);
  // The result is a [B, H, Tq, D] view of a [B, Tq, H, D] buffer: a model that merges the heads
  // with transpose(1, 2) then finds them contiguous, and its reshape to [B, Tq, H*D] copies nothing.
  const Tensor buffer = Tensor::empty({d.batch, d.queries, d.heads, d.head_dim}, q.dtype());
  Tensor out = buffer.as_strided({d.batch, d.heads, d.queries, d.head_dim},
                                 {d.queries * d.heads * d.head_dim, d.head_dim, d.heads * d.head_dim, 1}, 0);
  Tensor lse = Tensor::empty({d.batch, d.heads, d.queries}, q.dtype());
  dispatch_floating(q.dtype(), "scaled_dot_product_attention", [&](auto tag) {
    using T = decltype(tag);
    kernels::attention_forward<T>(shape, static_cast<T>(scale), base_pointer<T>(qc), strides_of(qc),
                                  base_pointer<T>(kc), strides_of(kc), base_pointer<T>(vc), strides_of(vc),
                                  buffer.data<T>(), strides_of(out), lse.data<T>());
  });
  if (auto node = record<AttentionBackward>(out, {q, k, v})) {
    node->q = qc;
    node->k = kc;
    node->v = vc;
    node->out = out.detach();
    node->lse = lse;
    node->shape = shape;
    node->scale = scale;
  }
  return out;
}

}  // namespace ouro
