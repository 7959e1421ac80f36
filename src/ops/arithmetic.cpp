#include "ouro/ops/arithmetic.h"

#include <cmath>

#include "helpers.h"

namespace ouro {
using namespace ops_detail;

namespace {

// Adds f(g, x) into input i's gradient. When x has the output's shape and is contiguous the
// kernel accumulates straight into the buffer; otherwise the product is formed at the
// broadcast shape and summed down.
template <typename F>
void accumulate_product(const Node& node, GradientSink& sink, std::size_t i, const Tensor& g, const Tensor& x, F f) {
  if (!sink.wants(i)) return;
  if (x.shape() == g.shape() && node.inputs[i].shape() == g.shape() && x.is_contiguous()) {
    bool fresh = false;
    Tensor& buffer = sink.buffer_to_assign(i, fresh);
    dispatch_floating(g.dtype(), "backward", [&](auto tag) {
      using T = decltype(tag);
      if (fresh)
        kernels::binary_map<T>(g.data<T>(), x.data<T>(), buffer.data<T>(), g.numel(), f);
      else
        kernels::binary_accumulate<T>(g.data<T>(), x.data<T>(), buffer.data<T>(), g.numel(), f);
    });
    return;
  }
  sink.accumulate(i, broadcast_binary("backward", g, x, f));
}

struct AddBackward : Node {
  const char* name() const override { return "add"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) sink.accumulate(0, g);
    if (sink.wants(1)) sink.accumulate(1, g);
  }
};

struct SubBackward : Node {
  const char* name() const override { return "sub"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) sink.accumulate(0, g);
    if (sink.wants(1)) sink.accumulate(1, neg(g));
  }
};

struct MulBackward : Node {
  Tensor a, b;
  const char* name() const override { return "mul"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    accumulate_product(*this, sink, 0, g, b, [](auto gv, auto bv) { return gv * bv; });
    accumulate_product(*this, sink, 1, g, a, [](auto gv, auto av) { return gv * av; });
  }
  void release() override { a = b = Tensor(); }
};

struct DivBackward : Node {
  Tensor a, b;
  const char* name() const override { return "div"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
    accumulate_product(*this, sink, 0, g, b, [](auto gv, auto bv) { return gv / bv; });
    if (sink.wants(1)) {
      Tensor g_over_b2 = broadcast_binary("div backward", g, mul(b, b), [](auto gv, auto bb) { return gv / bb; });
      sink.accumulate(1, broadcast_binary("div backward", g_over_b2, a, [](auto q, auto av) { return -q * av; }));
    }
  }
  void release() override { a = b = Tensor(); }
};

struct NegBackward : Node {
  const char* name() const override { return "neg"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) sink.accumulate(0, neg(g));
  }
};

struct PowScalarBackward : Node {
  Tensor input;
  double exponent = 1;
  const char* name() const override { return "pow"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const double p = exponent;
    unary_backward(sink, 0, g, input, [p](auto gv, auto x) {
      using T = decltype(x);
      return p == 0 ? T(0) : gv * static_cast<T>(p) * static_cast<T>(std::pow(x, static_cast<T>(p - 1)));
    });
  }
  void release() override { input = Tensor(); }
};

struct PowTensorBackward : Node {
  Tensor a, b, out;
  const char* name() const override { return "pow"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) {  // b * a^(b-1)
      Tensor local = broadcast_binary("pow backward", a, b, [](auto av, auto bv) {
        using T = decltype(av);
        return bv == T(0) ? T(0) : bv * static_cast<T>(std::pow(av, bv - T(1)));
      });
      sink.accumulate(0, broadcast_binary("pow backward", g, local, [](auto gv, auto l) { return gv * l; }));
    }
    if (sink.wants(1)) {  // a^b * log a
      Tensor local = broadcast_binary("pow backward", out, a, [](auto ov, auto av) {
        using T = decltype(av);
        return av == T(0) ? T(0) : ov * static_cast<T>(std::log(av));
      });
      sink.accumulate(1, broadcast_binary("pow backward", g, local, [](auto gv, auto l) { return gv * l; }));
    }
  }
  void release() override { a = b = out = Tensor(); }
};

Tensor scalar_like(const Tensor& t, double value) { return Tensor::scalar(value, t.dtype()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_binary("add", a, b, [](auto x, auto y) { return x + y; });
  record<AddBackward>(out, {a, b});
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_binary("sub", a, b, [](auto x, auto y) { return x - y; });
  record<SubBackward>(out, {a, b});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_binary("mul", a, b, [](auto x, auto y) { return x * y; });
  if (auto node = record<MulBackward>(out, {a, b})) {
    node->a = a.detach();
    node->b = b.detach();
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_binary("div", a, b, [](auto x, auto y) { return x / y; });
  if (auto node = record<DivBackward>(out, {a, b})) {
    node->a = a.detach();
    node->b = b.detach();
  }
  return out;
}

Tensor neg(const Tensor& a) {
  Tensor out = unary_forward("neg", a, [](auto x) { return -x; }).first;
  record<NegBackward>(out, {a});
  return out;
}

Tensor pow(const Tensor& a, double exponent) {
  auto [out, input] = unary_forward("pow", a, [exponent](auto x) {
    using T = decltype(x);
    return static_cast<T>(std::pow(x, static_cast<T>(exponent)));
  });
  if (auto node = record<PowScalarBackward>(out, {a})) {
    node->input = input;
    node->exponent = exponent;
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = broadcast_binary("pow", a, b, [](auto x, auto y) {
    using T = decltype(x);
    return static_cast<T>(std::pow(x, y));
  });
  if (auto node = record<PowTensorBackward>(out, {a, b})) {
    node->a = a.detach();
    node->b = b.detach();
    node->out = out.detach();
  }
  return out;
}

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

}  // namespace ouro
