#include "ouro/ops/activation.h"

#include <cmath>

#include "helpers.h"
#include "ouro/kernels/cpu/activation.h"

namespace ouro {
using namespace ops_detail;

namespace {

// Saves one contiguous tensor (the input or the output) and adds g * derivative(saved) in backward.
template <typename Derivative>
struct ActivationBackward : Node {
  Tensor saved;
  const char* op = "";
  Derivative derivative;
  const char* name() const override { return op; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const Derivative d = derivative;
    unary_backward(sink, 0, g, saved, [d](auto gv, auto s) { return gv * d(s); });
  }
  void release() override { saved = Tensor(); }
};

template <typename Derivative>
Tensor record_activation(const char* op, Tensor out, const Tensor& x, const Tensor& saved, Derivative derivative) {
  if (auto node = record<ActivationBackward<Derivative>>(out, {x})) {
    node->saved = saved;
    node->op = op;
    node->derivative = derivative;
  }
  return out;
}

// Derivatives as functions of what the op saved. Generic in T so one functor serves float32 and float64.
struct ReluDerivative {  // saved = x
  template <typename T> T operator()(T x) const { return x > T(0) ? T(1) : T(0); }
};
struct LeakyReluDerivative {  // saved = x
  double slope = 0;
  template <typename T> T operator()(T x) const { return x > T(0) ? T(1) : static_cast<T>(slope); }
};
struct FactorDerivative {  // saved = the per-element factor y / x (rrelu in training)
  template <typename T> T operator()(T factor) const { return factor; }
};
struct SigmoidDerivative {  // saved = y
  template <typename T> T operator()(T y) const { return y * (T(1) - y); }
};
struct TanhDerivative {  // saved = y
  template <typename T> T operator()(T y) const { return T(1) - y * y; }
};
struct GeluErfDerivative {  // saved = x
  template <typename T> T operator()(T x) const { return kernels::gelu_erf_derivative(x); }
};
struct GeluTanhDerivative {  // saved = x
  template <typename T> T operator()(T x) const { return kernels::gelu_tanh_derivative(x); }
};
struct SoftplusDerivative {  // saved = x
  double beta = 1, threshold = 20;
  template <typename T> T operator()(T x) const {
    return kernels::softplus_derivative(x, static_cast<T>(beta), static_cast<T>(threshold));
  }
};

Tensor leaky_relu_as(const char* op, const Tensor& x, double slope) {
  auto [out, input] = unary_forward(op, x, [slope](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : v * static_cast<T>(slope);
  });
  return record_activation(op, out, x, input, LeakyReluDerivative{slope});
}

}  // namespace

Tensor relu(const Tensor& x) {
  auto [out, input] = unary_forward("relu", x, [](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : T(0);
  });
  return record_activation("relu", out, x, input, ReluDerivative{});
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  OURO_CHECK(std::isfinite(negative_slope), "leaky_relu: negative_slope must be finite, got ", negative_slope);
  return leaky_relu_as("leaky_relu", x, negative_slope);
}

Tensor rrelu(const Tensor& x, double lower, double upper, bool training, Generator* gen) {
  OURO_CHECK(std::isfinite(lower) && std::isfinite(upper) && lower <= upper,
             "rrelu: expected finite lower <= upper, got lower ", lower, " and upper ", upper);
  if (!training) return leaky_relu_as("rrelu", x, (lower + upper) / 2);
  check_floating("rrelu", x);
  Tensor input = materialize(x);
  Tensor factors = Tensor::empty(x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Generator& g = gen ? *gen : default_generator();
  dispatch_floating(x.dtype(), "rrelu", [&](auto tag) {
    using T = decltype(tag);
    const T* in = input.data<T>();
    T* f = factors.data<T>();
    // Serial: the slopes must depend only on the generator's state, not on the thread count.
    // Every element draws, so an element's slope does not depend on the signs of the others.
    for (std::int64_t i = 0, n = input.numel(); i < n; ++i) {
      const T slope = static_cast<T>(g.uniform(lower, upper));
      f[i] = in[i] > T(0) ? T(1) : slope;
    }
    kernels::binary_map<T>(in, f, out.data<T>(), out.numel(), [](T v, T factor) { return v * factor; });
  });
  return record_activation("rrelu", out, x, factors, FactorDerivative{});
}

Tensor sigmoid(const Tensor& x) {
  auto [out, input] = unary_forward("sigmoid", x, [](auto v) { return kernels::sigmoid_value(v); });
  return record_activation("sigmoid", out, x, out.detach(), SigmoidDerivative{});
}

Tensor tanh(const Tensor& x) {
  auto [out, input] = unary_forward("tanh", x, [](auto v) { return std::tanh(v); });
  return record_activation("tanh", out, x, out.detach(), TanhDerivative{});
}

Tensor gelu(const Tensor& x, GeluApproximation approximate) {
  if (approximate == GeluApproximation::Tanh) {
    auto [out, input] = unary_forward("gelu", x, [](auto v) { return kernels::gelu_tanh_value(v); });
    return record_activation("gelu", out, x, input, GeluTanhDerivative{});
  }
  auto [out, input] = unary_forward("gelu", x, [](auto v) { return kernels::gelu_erf_value(v); });
  return record_activation("gelu", out, x, input, GeluErfDerivative{});
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  OURO_CHECK(std::isfinite(beta) && beta != 0, "softplus: beta must be finite and non-zero, got ", beta);
  auto [out, input] = unary_forward("softplus", x, [beta, threshold](auto v) {
    using T = decltype(v);
    return kernels::softplus_value(v, static_cast<T>(beta), static_cast<T>(threshold));
  });
  return record_activation("softplus", out, x, input, SoftplusDerivative{beta, threshold});
}

}  // namespace ouro
