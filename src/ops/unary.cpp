#include "ouro/ops/unary.h"

#include <cmath>
#include <limits>

#include "helpers.h"

namespace ouro {
using namespace ops_detail;

namespace {

// Saves one tensor (input or output) and applies a local derivative d(g, saved) in backward.
template <typename Derivative>
struct SavedUnaryBackward : Node {
  Tensor saved;
  const char* op = "";
  const char* name() const override { return op; }
  void backward(const Tensor& g, GradientSink& sink) override { unary_backward(sink, 0, g, saved, Derivative{}); }
  void release() override { saved = Tensor(); }
};

struct ExpDerivative {  // saved = exp(x)
  template <typename T> T operator()(T g, T y) const { return g * y; }
};
struct LogDerivative {  // saved = x
  template <typename T> T operator()(T g, T x) const { return g / x; }
};
struct SqrtDerivative {  // saved = sqrt(x)
  template <typename T> T operator()(T g, T y) const { return g / (T(2) * y); }
};
struct AbsDerivative {  // saved = x
  template <typename T> T operator()(T g, T x) const { return x > T(0) ? g : (x < T(0) ? -g : T(0)); }
};

template <typename Derivative>
Tensor save_and_record(const char* op, Tensor out, const Tensor& x, const Tensor& saved) {
  if (auto node = record<SavedUnaryBackward<Derivative>>(out, {x})) {
    node->saved = saved;
    node->op = op;
  }
  return out;
}

struct ClampBackward : Node {
  Tensor input;
  double min = 0, max = 0;
  const char* name() const override { return "clamp"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const double lo = min, hi = max;
    unary_backward(sink, 0, g, input, [lo, hi](auto gv, auto x) {
      using T = decltype(x);
      return (x >= static_cast<T>(lo) && x <= static_cast<T>(hi)) ? gv : T(0);
    });
  }
  void release() override { input = Tensor(); }
};

}  // namespace

Tensor exp(const Tensor& x) {
  auto [out, input] = unary_forward("exp", x, [](auto v) { return std::exp(v); });
  return save_and_record<ExpDerivative>("exp", out, x, out.detach());
}

Tensor log(const Tensor& x) {
  auto [out, input] = unary_forward("log", x, [](auto v) { return std::log(v); });
  return save_and_record<LogDerivative>("log", out, x, input);
}

Tensor sqrt(const Tensor& x) {
  auto [out, input] = unary_forward("sqrt", x, [](auto v) { return std::sqrt(v); });
  return save_and_record<SqrtDerivative>("sqrt", out, x, out.detach());
}

Tensor abs(const Tensor& x) {
  auto [out, input] = unary_forward("abs", x, [](auto v) { return std::abs(v); });
  return save_and_record<AbsDerivative>("abs", out, x, input);
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  const double lo = min.value_or(-std::numeric_limits<double>::infinity());
  const double hi = max.value_or(std::numeric_limits<double>::infinity());
  OURO_CHECK(!(lo > hi), "clamp: min ", lo, " is greater than max ", hi);
  auto [out, input] = unary_forward("clamp", x, [lo, hi](auto v) {
    using T = decltype(v);
    return v < static_cast<T>(lo) ? static_cast<T>(lo) : (v > static_cast<T>(hi) ? static_cast<T>(hi) : v);
  });
  if (auto node = record<ClampBackward>(out, {x})) {
    node->input = input;
    node->min = lo;
    node->max = hi;
  }
  return out;
}

}  // namespace ouro
