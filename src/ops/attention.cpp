#include "ouro/ops/attention.h"

#include <cmath>

#include "helpers.h"
#include "ouro/kernels/cpu/attention.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {
using namespace ops_detail;

namespace {

// The kernel reads any layout whose head dimension is contiguous (the q, k, v views a packed
// qkv projection gives); anything else is copied first.
Tensor rows_contiguous(const Tensor& t) { return t.strides()[3] == 1 || t.shape()[3] == 1 ? t.detach() : materialize(t); }

kernels::AttentionStrides strides_of(const Tensor& t) { return {t.strides()[0], t.strides()[1], t.strides()[2]}; }

// The strides of a contiguous [B, H, T, D] tensor of t's shape (the engine's gradient buffers).
kernels::AttentionStrides contiguous_strides(const Tensor& t) {
  const std::int64_t T = t.size(2), D = t.size(3);
  return {t.size(1) * T * D, T * D, D};
}

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
                                     lse.data<T>(), grads[0], contiguous_strides(q), grads[1], contiguous_strides(k),
                                     grads[2], contiguous_strides(v));
    });
  }
  void release() override { q = k = v = out = lse = Tensor(); }
};

// Where head h of q, k or v lives in a packed [B, T, 3C] projection (C = H * D): q in columns
// 0..C-1, k in C..2C-1, v in 2C..3C-1, head h in D columns of each, as GPT-2's c_attn lays them.
kernels::AttentionStrides packed_strides(const kernels::AttentionShape& s) {
  const std::int64_t width = s.heads * s.head_dim;
  return {s.queries * 3 * width, s.head_dim, 3 * width};
}
// The same for the [B, T, C] output (heads merged).
kernels::AttentionStrides merged_strides(const kernels::AttentionShape& s) {
  const std::int64_t width = s.heads * s.head_dim;
  return {s.queries * width, s.head_dim, width};
}

struct PackedAttentionBackward : Node {
  Tensor qkv, out, lse;  // detached; qkv and out contiguous
  kernels::AttentionShape shape{};
  double scale = 1;
  const char* name() const override { return "packed_qkv_attention"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    dispatch_floating(g.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      // q's, k's and v's gradients land side by side in the one [B, T, 3C] buffer, which the
      // kernel adds into, or first clears head by head when it is new.
      bool fresh = false;
      T* grad = sink.buffer_to_assign(0, fresh).template data<T>();
      const T* p = qkv.data<T>();
      const std::int64_t width = shape.heads * shape.head_dim;
      const kernels::AttentionStrides ps = packed_strides(shape), os = merged_strides(shape);
      kernels::attention_backward<T>(shape, static_cast<T>(scale), p, ps, p + width, ps, p + 2 * width, ps,
                                     out.data<T>(), os, g.data<T>(), os, lse.data<T>(), grad, ps, grad + width, ps,
                                     grad + 2 * width, ps, fresh);
    });
  }
  void release() override { qkv = out = lse = Tensor(); }
};

}  // namespace

Tensor packed_qkv_attention(const Tensor& qkv, std::int64_t heads, const AttentionOptions& options) {
  check_floating("packed_qkv_attention", qkv);
  OURO_CHECK(heads > 0, "packed_qkv_attention: heads must be positive, got ", heads);
  OURO_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0 && qkv.size(2) > 0,
             "packed_qkv_attention: qkv must be [batch, time, 3 * heads * head_dim] with ", heads,
             " heads, got shape ", shape_str(qkv.shape()));
  const std::int64_t B = qkv.size(0), T = qkv.size(1), width = qkv.size(2) / 3, D = width / heads;
  if (options.training && options.dropout_p > 0) {  // dropout needs the probabilities: the composition
    const std::vector<Tensor> parts = split(qkv, width, -1);
    auto split_heads = [&](const Tensor& t) { return permute(reshape(t, {B, T, heads, D}), {0, 2, 1, 3}); };
    const Tensor y = scaled_dot_product_attention(split_heads(parts[0]), split_heads(parts[1]), split_heads(parts[2]),
                                                  options);
    return reshape(permute(y, {0, 2, 1, 3}), {B, T, width});
  }
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(D)));
  const kernels::AttentionShape shape{B, heads, T, T, D, options.causal};
  const Tensor packed = materialize(qkv);
  Tensor out = Tensor::empty({B, T, width}, qkv.dtype());
  Tensor lse = Tensor::empty({B, heads, T}, qkv.dtype());
  dispatch_floating(qkv.dtype(), "packed_qkv_attention", [&](auto tag) {
    using T_ = decltype(tag);
    const T_* p = packed.data<T_>();
    const kernels::AttentionStrides ps = packed_strides(shape);
    kernels::attention_forward<T_>(shape, static_cast<T_>(scale), p, ps, p + width, ps, p + 2 * width, ps,
                                   out.data<T_>(), merged_strides(shape), lse.data<T_>());
  });
  if (auto node = record<PackedAttentionBackward>(out, {qkv})) {
    node->qkv = packed;
    node->out = out.detach();
    node->lse = lse;
    node->shape = shape;
    node->scale = scale;
  }
  return out;
}

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
