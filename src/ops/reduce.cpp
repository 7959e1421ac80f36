#include "ouro/ops/reduce.h"

#include <algorithm>

#include "helpers.h"
#include "ouro/kernels/cpu/reduce.h"
#include "ouro/ops/arithmetic.h"

namespace ouro {
using namespace ops_detail;

namespace {

struct Plan {
  std::vector<bool> reduced;  // per input dimension
  Shape out_shape;            // without keepdim
  Shape keep_shape;           // with the reduced dimensions kept as 1
  std::int64_t count = 1;     // elements reduced into each output
};

Plan plan_reduction(const char* op, const Tensor& x, const std::vector<std::int64_t>& dims) {
  const std::int64_t rank = x.dim();
  Plan plan;
  plan.reduced.assign(static_cast<std::size_t>(rank), dims.empty());
  for (std::int64_t d : dims) {
    const std::int64_t fixed = normalize_dim(d, rank, op);
    OURO_CHECK(!plan.reduced[fixed], op, ": dimension ", d, " is listed twice");
    plan.reduced[fixed] = true;
  }
  for (std::int64_t d = 0; d < rank; ++d) {
    if (plan.reduced[d]) {
      plan.keep_shape.push_back(1);
      plan.count *= x.shape()[d];
    } else {
      plan.keep_shape.push_back(x.shape()[d]);
      plan.out_shape.push_back(x.shape()[d]);
    }
  }
  return plan;
}

kernels::ReduceLayout layout_for(const Shape& shape, const Strides& strides, const Plan& plan) {
  kernels::ReduceLayout layout;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    auto& sizes = plan.reduced[d] ? layout.reduced_shape : layout.kept_shape;
    auto& steps = plan.reduced[d] ? layout.reduced_strides : layout.kept_strides;
    sizes.push_back(shape[d]);
    steps.push_back(strides[d]);
  }
  return layout;
}

// g (the output's gradient) seen with the reduced dimensions kept as size 1, so it broadcasts
// against the input.
Tensor with_kept_dims(const Tensor& g, const Plan& plan) {
  return g.as_strided(plan.keep_shape, contiguous_strides(plan.keep_shape), g.offset());
}

struct SumBackward : Node {
  Plan plan;
  double scale = 1;
  const char* name() const override { return "sum"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    const Tensor gk = with_kept_dims(g, plan);
    const Strides gs = broadcast_strides(gk, buffer.shape());
    const double s = scale;
    dispatch_floating(buffer.dtype(), "sum backward", [&](auto tag) {
      using T = decltype(tag);
      T* dst = buffer.data<T>();
      kernels::binary_map_strided<T>(buffer.dim(), buffer.shape().data(), dst, buffer.strides().data(),
                                     gk.data<T>(), gs.data(), dst,
                                     [s](auto acc, auto gv) { return acc + gv * static_cast<decltype(gv)>(s); });
    });
  }
};

struct MaxBackward : Node {
  Plan plan;
  Shape input_shape;
  Tensor index;  // int64, per output: position of the maximum within its reduced block
  const char* name() const override { return "max"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    const auto layout = layout_for(input_shape, contiguous_strides(input_shape), plan);
    const std::int64_t* idx = index.data<std::int64_t>();
    dispatch_floating(buffer.dtype(), "max backward", [&](auto tag) {
      using T = decltype(tag);
      T* dst = buffer.data<T>();
      const T* gp = g.data<T>();
      for (std::int64_t o = 0, n = layout.outputs(); o < n; ++o) {
        std::int64_t offset = kernels::kept_offset(layout, o), rest = idx[o];
        for (std::size_t d = layout.reduced_shape.size(); d-- > 0;) {
          offset += (rest % layout.reduced_shape[d]) * layout.reduced_strides[d];
          rest /= layout.reduced_shape[d];
        }
        dst[offset] += gp[o];
      }
    });
  }
  void release() override { index = Tensor(); }
};

struct VarBackward : Node {
  Plan plan;
  Tensor input;
  double denominator = 1;
  const char* name() const override { return "var"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    // d var / dx = 2 (x - mean) / (n - correction)
    std::vector<std::int64_t> dims;
    for (std::size_t d = 0; d < plan.reduced.size(); ++d)
      if (plan.reduced[d]) dims.push_back(static_cast<std::int64_t>(d));
    const Tensor centered = sub(input, mean(input, dims, true));
    sink.accumulate(0, mul(mul(centered, with_kept_dims(g, plan)), 2.0 / denominator));
  }
  void release() override { input = Tensor(); }
};

Tensor reduce_sum_or_mean(const char* op, const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim,
                          bool average) {
  check_floating(op, x);
  const Plan plan = plan_reduction(op, x, dims);
  Tensor out = Tensor::empty(plan.out_shape, x.dtype());
  const double scale = average ? 1.0 / static_cast<double>(plan.count) : 1.0;
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    kernels::reduce_sum<T>(base_pointer<T>(x), layout_for(x.shape(), x.strides(), plan), out.data<T>(), scale);
  });
  if (keepdim) out = out.as_strided(plan.keep_shape, contiguous_strides(plan.keep_shape), 0);
  if (auto node = record<SumBackward>(out, {x})) {
    node->plan = plan;
    node->scale = scale;
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  return reduce_sum_or_mean("sum", x, dims, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  const Plan plan = plan_reduction("mean", x, dims);
  OURO_CHECK(plan.count > 0, "mean: reducing ", x.describe(), " over an empty dimension");
  return reduce_sum_or_mean("mean", x, dims, keepdim, true);
}

Tensor max(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  check_floating("max", x);
  const Plan plan = plan_reduction("max", x, dims);
  OURO_CHECK(plan.count > 0, "max: reducing ", x.describe(), " over an empty dimension");
  Tensor out = Tensor::empty(plan.out_shape, x.dtype());
  Tensor index = Tensor::empty(plan.out_shape, DType::Int64);
  dispatch_floating(x.dtype(), "max", [&](auto tag) {
    using T = decltype(tag);
    kernels::reduce_max<T>(base_pointer<T>(x), layout_for(x.shape(), x.strides(), plan), out.data<T>(),
                           index.data<std::int64_t>());
  });
  if (keepdim) out = out.as_strided(plan.keep_shape, contiguous_strides(plan.keep_shape), 0);
  if (auto node = record<MaxBackward>(out, {x})) {
    node->plan = plan;
    node->input_shape = x.shape();
    node->index = index;
  }
  return out;
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  check_floating("argmax", x);
  const Plan plan = plan_reduction("argmax", x, {dim});
  OURO_CHECK(plan.count > 0, "argmax: reducing ", x.describe(), " over an empty dimension");
  Tensor index = Tensor::empty(plan.out_shape, DType::Int64);
  dispatch_floating(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    kernels::reduce_max<T>(base_pointer<T>(x), layout_for(x.shape(), x.strides(), plan), nullptr,
                           index.data<std::int64_t>());
  });
  if (keepdim) index = index.as_strided(plan.keep_shape, contiguous_strides(plan.keep_shape), 0);
  return index;
}

Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, std::int64_t correction) {
  check_floating("var", x);
  OURO_CHECK(correction >= 0, "var: correction must be >= 0, got ", correction);
  const Plan plan = plan_reduction("var", x, dims);
  Tensor out = Tensor::empty(plan.out_shape, x.dtype());
  dispatch_floating(x.dtype(), "var", [&](auto tag) {
    using T = decltype(tag);
    kernels::reduce_var<T>(base_pointer<T>(x), layout_for(x.shape(), x.strides(), plan), out.data<T>(), correction);
  });
  if (keepdim) out = out.as_strided(plan.keep_shape, contiguous_strides(plan.keep_shape), 0);
  if (auto node = record<VarBackward>(out, {x})) {
    node->plan = plan;
    node->input = x.detach();
    node->denominator = static_cast<double>(plan.count - correction);
  }
  return out;
}

}  // namespace ouro
