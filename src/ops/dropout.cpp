#include "ouro/ops/dropout.h"

#include "helpers.h"

namespace ouro {
using namespace ops_detail;

namespace {

struct DropoutBackward : Node {
  Tensor mask;  // 0 or 1 / (1 - p) per element, contiguous
  const char* name() const override { return "dropout"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    unary_backward(sink, 0, g, mask, [](auto gv, auto m) { return gv * m; });
  }
  void release() override { mask = Tensor(); }
};

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  OURO_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p, " (input ", x.describe(),
             ")");
  check_floating("dropout", x);
  if (!training || p == 0.0) return x;
  const Tensor input = materialize(x);
  Tensor mask = Tensor::zeros(x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    if (p < 1.0) {
      Generator& g = gen ? *gen : default_generator();
      const T scale = static_cast<T>(1.0 / (1.0 - p));
      const double keep = 1.0 - p;
      T* m = mask.data<T>();
      // Serial draws: the mask depends only on the generator's state, not on the thread count.
      for (std::int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = g.uniform() < keep ? scale : T(0);
    }
    kernels::binary_map<T>(input.data<T>(), mask.data<T>(), out.data<T>(), out.numel(),
                           [](T v, T m) { return v * m; });
  });
  if (auto node = record<DropoutBackward>(out, {x})) node->mask = mask;
  return out;
}

}  // namespace ouro
