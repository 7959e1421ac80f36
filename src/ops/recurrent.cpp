// The fused recurrent op: shape checks, then the sequence kernels of
// ouro/kernels/cpu/recurrent.h, with one graph node for the whole layer whose backward is
// backpropagation through time.
#include "ouro/ops/recurrent.h"

#include "helpers.h"
#include "ouro/kernels/cpu/recurrent.h"

namespace ouro {
using namespace ops_detail;

namespace {

kernels::RnnCell kernel_cell(CellType cell) {
  switch (cell) {
    case CellType::RnnTanh: return kernels::RnnCell::Tanh;
    case CellType::RnnRelu: return kernels::RnnCell::Relu;
    case CellType::Lstm: return kernels::RnnCell::Lstm;
    case CellType::Gru: return kernels::RnnCell::Gru;
  }
  return kernels::RnnCell::Tanh;
}

// Inputs, by position: x, h0, c0, w_ih, w_hh, b_ih, b_hh.
struct RecurrentBackward : Node {
  kernels::RnnSizes sizes;
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths;  // contiguous, detached
  Tensor states, saved;                                // the forward's output and its saved gates
  const char* name() const override { return "recurrent"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), "recurrent backward", [&](auto tag) {
      using T = decltype(tag);
      auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : static_cast<const T*>(nullptr); };
      auto grad = [&](std::size_t i) { return sink.wants(i) ? sink.buffer(i).data<T>() : static_cast<T*>(nullptr); };
      const kernels::RnnWeights<T> weights{ptr(w_ih), ptr(w_hh), ptr(b_ih), ptr(b_hh)};
      const kernels::RnnGradients<T> grads{grad(0), grad(1), grad(2), grad(3), grad(4), grad(5), grad(6)};
      kernels::rnn_backward<T>(sizes, g.data<T>(), x.data<T>(), h0.data<T>(), ptr(c0), weights,
                               lengths.defined() ? lengths.data<std::int64_t>() : nullptr, states.data<T>(),
                               saved.data<T>(), grads);
    });
  }
  void release() override { x = h0 = c0 = w_ih = w_hh = b_ih = b_hh = lengths = states = saved = Tensor(); }
};

Tensor contiguous_or_empty(const Tensor& t) { return t.defined() ? materialize(t) : Tensor(); }

}  // namespace

Tensor recurrent(CellType cell, const RecurrentInputs& in) {
  const RecurrentDims d = check_recurrent_inputs(cell, in);
  const std::int64_t S = state_width(cell, d.hidden);
  if (d.steps == 0) return Tensor::zeros({0, d.batch, S}, in.x.dtype());
  const kernels::RnnSizes sizes{kernel_cell(cell), d.steps, d.batch, d.input, d.hidden, in.reverse};
  const Tensor x = materialize(in.x), h0 = materialize(in.h0), c0 = contiguous_or_empty(in.c0);
  const Tensor w_ih = materialize(in.w_ih), w_hh = materialize(in.w_hh);
  const Tensor b_ih = contiguous_or_empty(in.b_ih), b_hh = contiguous_or_empty(in.b_hh);
  // A private copy: backward must see the lengths that were checked and used.
  const Tensor lengths = in.lengths.defined() ? in.lengths.copy() : Tensor();
  Tensor states = Tensor::empty({d.steps, d.batch, S}, in.x.dtype());
  Tensor saved = Tensor::empty({kernels::rnn_saved_size(sizes)}, in.x.dtype());
  dispatch_floating(in.x.dtype(), "recurrent", [&](auto tag) {
    using T = decltype(tag);
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : static_cast<const T*>(nullptr); };
    const kernels::RnnWeights<T> weights{ptr(w_ih), ptr(w_hh), ptr(b_ih), ptr(b_hh)};
    kernels::rnn_forward<T>(sizes, x.data<T>(), h0.data<T>(), ptr(c0), weights,
                            lengths.defined() ? lengths.data<std::int64_t>() : nullptr, states.data<T>(),
                            saved.data<T>());
  });
  if (auto node = record<RecurrentBackward>(states, {in.x, in.h0, in.c0, in.w_ih, in.w_hh, in.b_ih, in.b_hh})) {
    node->sizes = sizes;
    node->x = x;
    node->h0 = h0;
    node->c0 = c0;
    node->w_ih = w_ih;
    node->w_hh = w_hh;
    node->b_ih = b_ih;
    node->b_hh = b_hh;
    node->lengths = lengths;
    node->states = states.detach();
    node->saved = saved;
  }
  return states;
}

}  // namespace ouro
