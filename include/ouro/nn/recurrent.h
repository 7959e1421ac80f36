// Recurrent layers as modules: SimpleRNN (Elman), LSTM and GRU with PyTorch's parameter names
// and layout (weights exchange with torch.nn.RNN / LSTM / GRU state_dicts by name), stacking,
// dropout between layers, a built-in bidirectional flag, variable lengths (or a prefix mask),
// initial and final states, return_sequences, and stateful mode for truncated BPTT.
// SequenceLayer is the common base that Jordan (nn/jordan.h) and the Bidirectional wrapper
// (nn/bidirectional.h) share with them.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include "ouro/nn/activation.h"
#include "ouro/nn/module.h"
#include "ouro/ops/recurrent.h"
#include "ouro/tensor/random.h"

namespace ouro {

// A layer's state between calls, in PyTorch's layout: each tensor is [num_layers * D, B, H]
// (D = 2 when bidirectional; rows ordered layer 0 forward, layer 0 backward, layer 1 ...).
// c only for the LSTM. An undefined tensor means zeros. For Jordan, h is the fed-back output.
struct RecurrentState {
  RecurrentState() = default;
  RecurrentState(Tensor h_, Tensor c_ = Tensor()) : h(std::move(h_)), c(std::move(c_)) {}  // implicit: {h} and {h, c} read naturally
  Tensor h, c;
};

// output: [B, T, F] (batch_first) or [T, B, F] with zeros past each sequence's length when
// return_sequences; otherwise [B, F], each sequence's last valid output (for a bidirectional
// layer: the forward direction's output at length-1 next to the backward direction's output
// at step 0, i.e. both final states, as Keras does). state: each sequence's last valid state.
struct RecurrentOutput {
  Tensor output;
  RecurrentState state;
};

// Lengths int64 [B] from a prefix mask [B, T] (any dtype, non-zero = valid): each row must be
// ones then zeros; anything else (a gap, a hole) is an error naming the row.
Tensor lengths_from_mask(const Tensor& mask);

// Reverses each sequence of a time-major [T, B, F] tensor within its own length: out[t, b] =
// x[len_b - 1 - t, b] for t < len_b; padding positions stay where they are. Its own inverse.
// An undefined `lengths` reverses the whole time axis.
Tensor reverse_sequences(const Tensor& x, const Tensor& lengths);

// A carried state as a module's carried tensors ({"h", "c"}, each present when defined), and
// back; `who` names the module in the error for any other key.
StateDict carried_state_tensors(const RecurrentState& state);
RecurrentState carried_state_from_tensors(const StateDict& carried, const std::string& who);

// Anything that maps a sequence to a sequence with a carried state. Subclasses implement
// run(); this base turns batch-major input, masks, return_sequences and stateful mode into it.
class SequenceLayer : public Module {
 public:
  using Module::forward;
  // Honours return_sequences and stateful (the carried state, if any, is the initial state).
  Tensor forward(const Tensor& x) override;
  // Explicit initial state (undefined members: zeros, or the carried state when stateful),
  // optional lengths int64 [B] or prefix mask [B, T] (not both). Stateful layers carry the
  // returned final state, detached, into the next call.
  RecurrentOutput forward(const Tensor& x, const RecurrentState& initial, const Tensor& lengths = Tensor(),
                          const Tensor& mask = Tensor());
  // Forgets the carried state (stateful mode): the next call starts from zeros.
  void reset_states() { carried_ = RecurrentState{}; }
  const RecurrentState& carried_state() const { return carried_; }
  // The carried state as {"h", "c"} (each present when defined), for training checkpoints.
  StateDict carried_tensors() const override;
  void load_carried_tensors(const StateDict& carried) override;

  // The raw form the wrappers call: time-major x [T, B, F], lengths int64 [B] (always
  // defined), initial state members undefined for zeros. Ignores batch_first, return_sequences
  // and stateful. Outputs past a sequence's length must be zero.
  struct RunResult {
    Tensor output;  // [T, B, output_size()]
    Tensor last;    // [B, output_size()]: the output at length-1 (for an empty sequence: the initial fed-back value)
    RecurrentState state;
  };
  virtual RunResult run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) = 0;
  // Features of one output step (D * H for the RNN family).
  virtual std::int64_t output_size() const = 0;
  // Features one input step must have.
  virtual std::int64_t input_size() const = 0;
  // A new layer with the same options and fresh parameters (from the options' generator):
  // how Bidirectional makes its backward copy.
  virtual std::shared_ptr<SequenceLayer> fresh_copy() const = 0;

  bool batch_first() const { return batch_first_; }
  bool return_sequences() const { return return_sequences_; }
  bool stateful() const { return stateful_; }

 protected:
  SequenceLayer(bool batch_first, bool return_sequences, bool stateful)
      : batch_first_(batch_first), return_sequences_(return_sequences), stateful_(stateful) {}

 private:
  bool batch_first_, return_sequences_, stateful_;
  RecurrentState carried_;
};

struct RecurrentOptions {
  std::int64_t input_size = 0, hidden_size = 0, num_layers = 1;
  bool bias = true;
  bool batch_first = true;     // input [B, T, F]; false: time-major [T, B, F]
  bool bidirectional = false;  // outputs concatenated [forward | backward] -> 2 * H features
  double dropout = 0.0;        // on the outputs of every layer but the last, training only
  bool return_sequences = true;  // false: forward() gives [B, D * H], the last valid output
  // Truncated BPTT: each call's final state, detached, is the next call's initial state, so
  // consecutive windows of a long stream give the values of one long forward while gradients
  // stop at window boundaries. reset_states() between streams; the batch size must not change.
  bool stateful = false;
  ActivationKind nonlinearity = ActivationKind::Tanh;  // SimpleRNN only: Tanh or Relu
  DType dtype = DType::Float32;
  Generator* generator = nullptr;  // initial weights and dropout; the default generator when null
};

// The RNN family: one `recurrent` op per layer and direction. Parameters, per layer k (and
// with the suffix "_reverse" for the backward direction), in PyTorch's order and init
// (every one uniform in [-1/sqrt(H), 1/sqrt(H)]):
//   weight_ih_l{k} [G*H, in_k], weight_hh_l{k} [G*H, H], bias_ih_l{k} [G*H], bias_hh_l{k} [G*H]
// with G = 1 (RNN), 4 (LSTM, gates i f g o), 3 (GRU, gates r z n), in_0 = input_size and
// in_k = D * H above.
class RecurrentLayer : public SequenceLayer {
 public:
  RunResult run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) override;
  std::int64_t output_size() const override { return (options_.bidirectional ? 2 : 1) * options_.hidden_size; }
  std::int64_t input_size() const override { return options_.input_size; }
  std::string config_json() const override;
  const RecurrentOptions& options() const { return options_; }
  CellType cell() const { return cell_; }
  // The named parameter, e.g. parameter("weight_hh_l1_reverse").
  Tensor& parameter(std::int64_t layer, bool reverse, const char* kind);

 protected:
  RecurrentLayer(CellType cell, const RecurrentOptions& options, const char* type);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;
  };
  CellType cell_;
  RecurrentOptions options_;
  std::vector<Weights> weights_;  // index layer * D + direction
};

// Elman network: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu (options.nonlinearity).
class SimpleRNN : public RecurrentLayer {
 public:
  explicit SimpleRNN(const RecurrentOptions& options);
  SimpleRNN(std::int64_t input_size, std::int64_t hidden_size);
  std::string type_name() const override { return "SimpleRNN"; }
  std::shared_ptr<SequenceLayer> fresh_copy() const override { return std::make_shared<SimpleRNN>(options()); }
};

class LSTM : public RecurrentLayer {
 public:
  explicit LSTM(const RecurrentOptions& options);
  LSTM(std::int64_t input_size, std::int64_t hidden_size);
  std::string type_name() const override { return "LSTM"; }
  std::shared_ptr<SequenceLayer> fresh_copy() const override { return std::make_shared<LSTM>(options()); }
};

class GRU : public RecurrentLayer {
 public:
  explicit GRU(const RecurrentOptions& options);
  GRU(std::int64_t input_size, std::int64_t hidden_size);
  std::string type_name() const override { return "GRU"; }
  std::shared_ptr<SequenceLayer> fresh_copy() const override { return std::make_shared<GRU>(options()); }
};

}  // namespace ouro
