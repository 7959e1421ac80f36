// The recurrent layer composed from ordinary autograd ops, one step at a time. It exists to
// be obviously right: the fused op in recurrent.cpp is tested against it.
#include <vector>

#include "helpers.h"
#include "ouro/ops/activation.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/linear.h"
#include "ouro/ops/recurrent.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

std::int64_t gate_count(CellType cell) {
  switch (cell) {
    case CellType::Lstm: return 4;
    case CellType::Gru: return 3;
    default: return 1;
  }
}

std::int64_t state_width(CellType cell, std::int64_t hidden) {
  return cell == CellType::Lstm ? 2 * hidden : hidden;
}

const char* cell_name(CellType cell) {
  switch (cell) {
    case CellType::RnnTanh: return "rnn_tanh";
    case CellType::RnnRelu: return "rnn_relu";
    case CellType::Lstm: return "lstm";
    case CellType::Gru: return "gru";
  }
  return "?";
}

namespace {
void expect_shape(const char* op, const char* what, const Tensor& t, const Shape& expected) {
  OURO_CHECK(t.shape() == expected, op, ": ", what, " has shape ", shape_str(t.shape()), ", expected ",
             shape_str(expected));
}
}  // namespace

RecurrentDims check_recurrent_inputs(CellType cell, const RecurrentInputs& in) {
  const std::string op_name = std::string("recurrent (") + cell_name(cell) + ")";
  const char* op = op_name.c_str();
  OURO_CHECK(in.x.defined() && in.x.dim() == 3, op, ": input x must be [steps, batch, features], got ",
             in.x.defined() ? shape_str(in.x.shape()) : std::string("an undefined tensor"));
  OURO_CHECK(in.w_ih.defined() && in.w_ih.dim() == 2, op, ": w_ih must be [gates*hidden, input]");
  OURO_CHECK(in.w_hh.defined() && in.w_hh.dim() == 2, op, ": w_hh must be [gates*hidden, hidden]");
  ops_detail::check_floating(op, in.x);
  const std::int64_t steps = in.x.size(0), batch = in.x.size(1), input = in.x.size(2);
  const std::int64_t gates = gate_count(cell);
  const std::int64_t hidden = in.w_hh.size(1);
  OURO_CHECK(hidden > 0, op, ": hidden size must be positive");
  expect_shape(op, "w_ih", in.w_ih, {gates * hidden, input});
  expect_shape(op, "w_hh", in.w_hh, {gates * hidden, hidden});
  ops_detail::check_same_dtype(op, in.x, in.w_ih);
  ops_detail::check_same_dtype(op, in.x, in.w_hh);
  OURO_CHECK(in.b_ih.defined() == in.b_hh.defined(), op, ": b_ih and b_hh must both be given or both omitted");
  if (in.b_ih.defined()) {
    expect_shape(op, "b_ih", in.b_ih, {gates * hidden});
    expect_shape(op, "b_hh", in.b_hh, {gates * hidden});
    ops_detail::check_same_dtype(op, in.x, in.b_ih);
    ops_detail::check_same_dtype(op, in.x, in.b_hh);
  }
  OURO_CHECK(in.h0.defined(), op, ": the initial state h0 is required");
  expect_shape(op, "h0", in.h0, {batch, hidden});
  ops_detail::check_same_dtype(op, in.x, in.h0);
  if (cell == CellType::Lstm) {
    OURO_CHECK(in.c0.defined(), op, ": the initial cell state c0 is required");
    expect_shape(op, "c0", in.c0, {batch, hidden});
    ops_detail::check_same_dtype(op, in.x, in.c0);
  } else {
    OURO_CHECK(!in.c0.defined(), op, ": c0 is only for the LSTM");
  }
  if (in.lengths.defined()) {
    OURO_CHECK(in.lengths.dtype() == DType::Int64, op, ": lengths must be int64, got ", in.lengths.describe());
    expect_shape(op, "lengths", in.lengths, {batch});
    for (std::int64_t len : in.lengths.to_index_vector())
      OURO_CHECK(len >= 0 && len <= steps, op, ": a sequence length of ", len, " is outside [0, ", steps, "]");
  }
  return {steps, batch, input, hidden};
}

Tensor recurrent_reference(CellType cell, const RecurrentInputs& in) {
  const RecurrentDims d = check_recurrent_inputs(cell, in);
  const std::int64_t H = d.hidden;
  if (d.steps == 0) return Tensor::zeros({0, d.batch, state_width(cell, H)}, in.x.dtype());
  // The input projection of every step at once: [T, B, G*H].
  const Tensor projected = linear(in.x, in.w_ih, in.b_ih);
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(d.batch), d.steps);
  if (in.lengths.defined()) lengths = in.lengths.to_index_vector();

  Tensor h = in.h0, c = in.c0;
  std::vector<Tensor> states(static_cast<std::size_t>(d.steps));
  for (std::int64_t k = 0; k < d.steps; ++k) {
    const std::int64_t t = in.reverse ? d.steps - 1 - k : k;
    const Tensor xg = squeeze(narrow(projected, 0, t, 1), 0);  // [B, G*H]
    const Tensor hg = linear(h, in.w_hh, in.b_hh);             // [B, G*H]
    auto gate = [&](const Tensor& g, std::int64_t index) { return narrow(g, 1, index * H, H); };
    Tensor h_next, c_next;
    switch (cell) {
      case CellType::RnnTanh: h_next = tanh(add(xg, hg)); break;
      case CellType::RnnRelu: h_next = relu(add(xg, hg)); break;
      case CellType::Lstm: {
        const Tensor all = add(xg, hg);
        const Tensor i = sigmoid(gate(all, 0)), f = sigmoid(gate(all, 1));
        const Tensor g = tanh(gate(all, 2)), o = sigmoid(gate(all, 3));
        c_next = add(mul(f, c), mul(i, g));
        h_next = mul(o, tanh(c_next));
        break;
      }
      case CellType::Gru: {
        const Tensor r = sigmoid(add(gate(xg, 0), gate(hg, 0)));
        const Tensor z = sigmoid(add(gate(xg, 1), gate(hg, 1)));
        const Tensor n = tanh(add(gate(xg, 2), mul(r, gate(hg, 2))));
        h_next = add(mul(sub(Tensor::ones({1}, n.dtype()), z), n), mul(z, h));
        break;
      }
    }
    // Sequences that have ended (or, in reverse, not begun) keep their state.
    bool all_active = true;
    std::vector<double> active(static_cast<std::size_t>(d.batch));
    for (std::int64_t b = 0; b < d.batch; ++b) {
      active[static_cast<std::size_t>(b)] = t < lengths[static_cast<std::size_t>(b)] ? 1.0 : 0.0;
      all_active = all_active && t < lengths[static_cast<std::size_t>(b)];
    }
    if (!all_active) {
      const Tensor keep = Tensor::from_vector(active, {d.batch, 1}, in.x.dtype());
      const Tensor hold = sub(Tensor::ones({1}, in.x.dtype()), keep);
      h_next = add(mul(keep, h_next), mul(hold, h));
      if (cell == CellType::Lstm) c_next = add(mul(keep, c_next), mul(hold, c));
    }
    h = h_next;
    c = c_next;
    states[static_cast<std::size_t>(t)] = cell == CellType::Lstm ? concat({h, c}, 1) : h;
  }
  return stack(states, 0);
}

}  // namespace ouro
