#include "ouro/nn/recurrent.h"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "ouro/core/error.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

// ---------------------------------------------------------------- sequence helpers

Tensor lengths_from_mask(const Tensor& mask) {
  OURO_CHECK(mask.defined() && mask.dim() == 2, "mask: expected shape [batch, steps], got ",
             mask.defined() ? shape_str(mask.shape()) : std::string("an undefined tensor"));
  const std::int64_t batch = mask.size(0), steps = mask.size(1);
  const std::vector<double> values = mask.to_vector();
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    const double* row = values.data() + b * steps;
    std::int64_t length = 0;
    while (length < steps && row[length] != 0) ++length;
    for (std::int64_t t = length; t < steps; ++t)
      OURO_CHECK(row[t] == 0, "mask: row ", b, " is not a prefix mask (valid steps first, then padding): step ", t,
                 " is valid after padding at step ", length,
                 "; recurrent layers accept only prefix masks, i.e. sequence lengths");
    lengths[static_cast<std::size_t>(b)] = length;
  }
  return Tensor::from_indices(lengths, {batch});
}

Tensor reverse_sequences(const Tensor& x, const Tensor& lengths) {
  OURO_CHECK(x.defined() && x.dim() >= 2, "reverse_sequences: expected x of shape [steps, batch, ...], got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const std::int64_t steps = x.size(0), batch = x.size(1);
  std::vector<std::int64_t> len(static_cast<std::size_t>(batch), steps);
  if (lengths.defined()) {
    OURO_CHECK(lengths.dtype() == DType::Int64 && lengths.shape() == Shape{batch},
               "reverse_sequences: lengths must be int64 [", batch, "], got ", lengths.describe());
    len = lengths.to_index_vector();
  }
  std::vector<std::int64_t> index(static_cast<std::size_t>(steps * batch));
  for (std::int64_t t = 0; t < steps; ++t)
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t n = len[static_cast<std::size_t>(b)];
      OURO_CHECK(n >= 0 && n <= steps, "reverse_sequences: a length of ", n, " is outside [0, ", steps, "]");
      const std::int64_t source = t < n ? n - 1 - t : t;
      index[static_cast<std::size_t>(t * batch + b)] = source * batch + b;
    }
  const Tensor rows = reshape(x, {steps * batch, -1});
  return reshape(index_select(rows, 0, Tensor::from_indices(index, {steps * batch})), x.shape());
}

// ---------------------------------------------------------------- SequenceLayer

StateDict carried_state_tensors(const RecurrentState& state) {
  StateDict carried;
  if (state.h.defined()) carried["h"] = state.h;
  if (state.c.defined()) carried["c"] = state.c;
  return carried;
}

RecurrentState carried_state_from_tensors(const StateDict& carried, const std::string& who) {
  RecurrentState state;
  for (const auto& [key, tensor] : carried) {
    OURO_CHECK(key == "h" || key == "c", who, ": unexpected carried tensor \"", key, "\" (expected \"h\" or \"c\")");
    OURO_CHECK(tensor.dim() == 3, who, ": carried tensor \"", key, "\" must be [num_layers, batch, hidden], got ",
               tensor.dim(), " dimensions");
    (key == "h" ? state.h : state.c) = tensor;
  }
  return state;
}

StateDict SequenceLayer::carried_tensors() const { return carried_state_tensors(carried_); }

void SequenceLayer::load_carried_tensors(const StateDict& carried) {
  carried_ = carried_state_from_tensors(carried, type_name());
}

Tensor SequenceLayer::forward(const Tensor& x) { return forward(x, RecurrentState{}).output; }

RecurrentOutput SequenceLayer::forward(const Tensor& x, const RecurrentState& initial, const Tensor& lengths,
                                       const Tensor& mask) {
  const std::string name = type_name();
  OURO_CHECK(x.defined() && x.dim() == 3, name, ": expected input of shape ",
             batch_first_ ? "[batch, steps, features]" : "[steps, batch, features]", ", got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const Tensor xt = batch_first_ ? transpose(x, 0, 1) : x;
  const std::int64_t steps = xt.size(0), batch = xt.size(1);
  OURO_CHECK(xt.size(2) == input_size(), name, ": expected ", input_size(), " input features, got shape ",
             shape_str(x.shape()), batch_first_ ? " (batch_first)" : " (time-major)");
  OURO_CHECK(!(lengths.defined() && mask.defined()), name, ": give lengths or a mask, not both");

  Tensor len;
  if (mask.defined()) {
    OURO_CHECK(mask.dim() == 2 && mask.size(0) == batch && mask.size(1) == steps, name, ": mask must be [batch, steps] = [",
               batch, ", ", steps, "], got ", shape_str(mask.shape()));
    len = lengths_from_mask(mask);
  } else if (lengths.defined()) {
    OURO_CHECK(lengths.dtype() == DType::Int64 && lengths.shape() == Shape{batch}, name,
               ": lengths must be an int64 tensor of shape [", batch, "], got ", lengths.describe());
    for (std::int64_t n : lengths.to_index_vector())
      OURO_CHECK(n >= 0 && n <= steps, name, ": a sequence length of ", n, " is outside [0, ", steps, "]");
    len = lengths;
  } else {
    len = Tensor::from_indices(std::vector<std::int64_t>(static_cast<std::size_t>(batch), steps), {batch});
  }

  RecurrentState start = initial;
  if (stateful_) {
    auto carry = [&](Tensor& into, const Tensor& carried, const char* what) {
      if (into.defined() || !carried.defined()) return;
      OURO_CHECK(carried.size(1) == batch, name, " (stateful): the carried ", what, " state has batch ", carried.size(1),
                 " but this input has batch ", batch, "; call reset_states() to start new sequences");
      into = carried;
    };
    carry(start.h, carried_.h, "h");
    carry(start.c, carried_.c, "c");
  }

  RunResult result = run(xt, start, len);
  if (stateful_) {
    carried_.h = result.state.h.defined() ? result.state.h.detach() : Tensor();
    carried_.c = result.state.c.defined() ? result.state.c.detach() : Tensor();
  }
  RecurrentOutput out;
  out.state = std::move(result.state);
  if (return_sequences_)
    out.output = batch_first_ ? transpose(result.output, 0, 1) : result.output;
  else
    out.output = result.last;
  return out;
}

// ---------------------------------------------------------------- RecurrentLayer

namespace {

std::string layer_suffix(std::int64_t layer, bool reverse) {
  return "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

Tensor select_row(const Tensor& t, std::int64_t index) { return squeeze(narrow(t, 0, index, 1), 0); }

}  // namespace

RecurrentLayer::RecurrentLayer(CellType cell, const RecurrentOptions& options, const char* type)
    : SequenceLayer(options.batch_first, options.return_sequences, options.stateful), cell_(cell), options_(options) {
  OURO_CHECK(options.input_size > 0 && options.hidden_size > 0, type,
             ": input_size and hidden_size must be positive, got input_size=", options.input_size,
             " hidden_size=", options.hidden_size);
  OURO_CHECK(options.num_layers >= 1, type, ": num_layers must be at least 1, got ", options.num_layers);
  OURO_CHECK(options.dropout >= 0 && options.dropout < 1, type, ": dropout must be in [0, 1), got ", options.dropout);
  OURO_CHECK(options.dtype != DType::Int64, type, ": dtype must be float32 or float64");
  const std::int64_t G = gate_count(cell), H = options.hidden_size, D = options.bidirectional ? 2 : 1;
  // PyTorch's RNN init: every weight and bias uniform in [-1/sqrt(H), 1/sqrt(H)], drawn in
  // registration order (layer, direction, then w_ih, w_hh, b_ih, b_hh).
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  auto draw = [&](const Shape& shape) { return rand(shape, -bound, bound, options.dtype, options.generator); };
  for (std::int64_t layer = 0; layer < options.num_layers; ++layer) {
    const std::int64_t in = layer == 0 ? options.input_size : D * H;
    for (std::int64_t direction = 0; direction < D; ++direction) {
      const std::string suffix = layer_suffix(layer, direction == 1);
      Weights w;
      w.w_ih = register_parameter("weight_ih" + suffix, draw({G * H, in}));
      w.w_hh = register_parameter("weight_hh" + suffix, draw({G * H, H}));
      if (options.bias) {
        w.b_ih = register_parameter("bias_ih" + suffix, draw({G * H}));
        w.b_hh = register_parameter("bias_hh" + suffix, draw({G * H}));
      }
      weights_.push_back(w);
    }
  }
}

Tensor& RecurrentLayer::parameter(std::int64_t layer, bool reverse, const char* kind) {
  const std::int64_t D = options_.bidirectional ? 2 : 1;
  OURO_CHECK(layer >= 0 && layer < options_.num_layers, type_name(), ": layer ", layer, " does not exist (",
             options_.num_layers, " layers)");
  OURO_CHECK(!reverse || options_.bidirectional, type_name(), ": no reverse direction (not bidirectional)");
  Weights& w = weights_[static_cast<std::size_t>(layer * D + (reverse ? 1 : 0))];
  const std::string k = kind;
  if (k == "weight_ih") return w.w_ih;
  if (k == "weight_hh") return w.w_hh;
  OURO_CHECK(options_.bias, type_name(), ": no ", k, " (bias = false)");
  if (k == "bias_ih") return w.b_ih;
  if (k == "bias_hh") return w.b_hh;
  throw Error(type_name() + ": unknown parameter kind '" + k + "' (weight_ih, weight_hh, bias_ih, bias_hh)");
}

SequenceLayer::RunResult RecurrentLayer::run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) {
  const std::string name = type_name();
  const std::int64_t steps = x.size(0), batch = x.size(1), H = options_.hidden_size;
  const std::int64_t D = options_.bidirectional ? 2 : 1, L = options_.num_layers;
  const bool lstm = cell_ == CellType::Lstm;
  const Shape state_shape{L * D, batch, H};
  if (initial.h.defined())
    OURO_CHECK(initial.h.shape() == state_shape, name, ": initial h must be [num_layers * directions, batch, hidden] = ",
               shape_str(state_shape), ", got ", shape_str(initial.h.shape()));
  if (initial.c.defined()) {
    OURO_CHECK(lstm, name, ": an initial c is only for the LSTM");
    OURO_CHECK(initial.c.shape() == state_shape, name, ": initial c must be [num_layers * directions, batch, hidden] = ",
               shape_str(state_shape), ", got ", shape_str(initial.c.shape()));
  }

  const std::vector<std::int64_t> len = lengths.to_index_vector();
  bool full = true;
  for (std::int64_t n : len) full = full && n == steps;
  // Outputs past a sequence's length are zero, as PyTorch's pad_packed_sequence gives them.
  Tensor valid;
  if (!full) {
    std::vector<double> v(static_cast<std::size_t>(steps * batch));
    for (std::int64_t t = 0; t < steps; ++t)
      for (std::int64_t b = 0; b < batch; ++b)
        v[static_cast<std::size_t>(t * batch + b)] = t < len[static_cast<std::size_t>(b)] ? 1.0 : 0.0;
    valid = Tensor::from_vector(v, {steps, batch, 1}, options_.dtype);
  }

  RunResult result;
  std::vector<Tensor> h_final, c_final;
  Tensor layer_input = x;
  for (std::int64_t layer = 0; layer < L; ++layer) {
    std::vector<Tensor> outputs;
    for (std::int64_t direction = 0; direction < D; ++direction) {
      const std::int64_t row = layer * D + direction;
      const Weights& w = weights_[static_cast<std::size_t>(row)];
      RecurrentInputs in;
      in.x = layer_input;
      in.h0 = initial.h.defined() ? select_row(initial.h, row) : Tensor::zeros({batch, H}, options_.dtype);
      if (lstm) in.c0 = initial.c.defined() ? select_row(initial.c, row) : Tensor::zeros({batch, H}, options_.dtype);
      in.w_ih = w.w_ih, in.w_hh = w.w_hh, in.b_ih = w.b_ih, in.b_hh = w.b_hh;
      if (!full) in.lengths = lengths;
      in.reverse = direction == 1;
      const Tensor states = recurrent(cell_, in);  // [T, B, S]
      outputs.push_back(lstm ? narrow(states, 2, 0, H) : states);
      if (steps == 0) {
        h_final.push_back(in.h0);
        if (lstm) c_final.push_back(in.c0);
      } else {
        const Tensor last = select_row(states, in.reverse ? 0 : steps - 1);  // [B, S]
        h_final.push_back(lstm ? narrow(last, 1, 0, H) : last);
        if (lstm) c_final.push_back(narrow(last, 1, H, H));
      }
    }
    Tensor layer_output = D == 2 ? concat(outputs, 2) : outputs[0];
    if (!full) layer_output = mul(layer_output, valid);
    const bool between = layer + 1 < L;
    if (between && options_.dropout > 0 && is_training())
      layer_input = dropout(layer_output, options_.dropout, true, options_.generator);
    else
      layer_input = layer_output;
    if (!between) result.output = layer_output;
  }
  const std::size_t top = static_cast<std::size_t>((L - 1) * D);
  result.last = D == 2 ? concat({h_final[top], h_final[top + 1]}, 1) : h_final[top];
  result.state.h = stack(h_final, 0);
  if (lstm) result.state.c = stack(c_final, 0);
  return result;
}

std::string RecurrentLayer::config_json() const {
  std::ostringstream out;
  out << "{\"input_size\": " << options_.input_size << ", \"hidden_size\": " << options_.hidden_size
      << ", \"num_layers\": " << options_.num_layers << ", \"bias\": " << (options_.bias ? "true" : "false")
      << ", \"batch_first\": " << (options_.batch_first ? "true" : "false")
      << ", \"bidirectional\": " << (options_.bidirectional ? "true" : "false") << ", \"dropout\": " << options_.dropout
      << ", \"return_sequences\": " << (options_.return_sequences ? "true" : "false")
      << ", \"stateful\": " << (options_.stateful ? "true" : "false");
  if (cell_ == CellType::RnnTanh || cell_ == CellType::RnnRelu)
    out << ", \"nonlinearity\": \"" << (cell_ == CellType::RnnRelu ? "relu" : "tanh") << "\"";
  out << "}";
  return out.str();
}

// ---------------------------------------------------------------- the three cells

namespace {
CellType simple_rnn_cell(const RecurrentOptions& options) {
  OURO_CHECK(options.nonlinearity == ActivationKind::Tanh || options.nonlinearity == ActivationKind::Relu,
             "SimpleRNN: nonlinearity must be tanh or relu, got ", activation_name(options.nonlinearity));
  return options.nonlinearity == ActivationKind::Relu ? CellType::RnnRelu : CellType::RnnTanh;
}
RecurrentOptions sizes(std::int64_t input_size, std::int64_t hidden_size) {
  RecurrentOptions options;
  options.input_size = input_size;
  options.hidden_size = hidden_size;
  return options;
}
}  // namespace

SimpleRNN::SimpleRNN(const RecurrentOptions& options) : RecurrentLayer(simple_rnn_cell(options), options, "SimpleRNN") {}
SimpleRNN::SimpleRNN(std::int64_t input_size, std::int64_t hidden_size) : SimpleRNN(sizes(input_size, hidden_size)) {}
LSTM::LSTM(const RecurrentOptions& options) : RecurrentLayer(CellType::Lstm, options, "LSTM") {}
LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size) : LSTM(sizes(input_size, hidden_size)) {}
GRU::GRU(const RecurrentOptions& options) : RecurrentLayer(CellType::Gru, options, "GRU") {}
GRU::GRU(std::int64_t input_size, std::int64_t hidden_size) : GRU(sizes(input_size, hidden_size)) {}

}  // namespace ouro
