// Recurrent layers as single ops: one call runs one layer in one direction over a whole
// sequence (backpropagation through time is that op's backward). The gate layout and the
// equations are PyTorch's, so weights exchange with torch.nn.RNN / LSTM / GRU unchanged:
//   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)                       (act = tanh or relu)
//   LSTM: gates i, f, g, o (rows [0,H), [H,2H), [2H,3H), [3H,4H) of W_ih / W_hh)
//         c' = sigmoid(f) * c + sigmoid(i) * tanh(g),  h' = sigmoid(o) * tanh(c')
//   GRU:  gates r, z, n
//         r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//         n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
//
// `recurrent` is the fused implementation (input projection of all steps as one GEMM, one
// GEMM for all gates per step, gate math in one pass, backward fused likewise).
// `recurrent_reference` composes the same computation from ordinary autograd ops, one step at
// a time: slow, obviously right, and the yardstick the fused op is tested against.
#pragma once
#include <cstdint>

#include "ouro/tensor/tensor.h"

namespace ouro {

enum class CellType { RnnTanh, RnnRelu, Lstm, Gru };

// Rows of W_ih per hidden unit: 1 (RNN), 4 (LSTM), 3 (GRU).
std::int64_t gate_count(CellType cell);
// Width of one step's state: H, or 2H for the LSTM (h then c).
std::int64_t state_width(CellType cell, std::int64_t hidden);
const char* cell_name(CellType cell);

struct RecurrentInputs {
  Tensor x;        // [T, B, I], time-major
  Tensor h0;       // [B, H]
  Tensor c0;       // [B, H], LSTM only (undefined otherwise)
  Tensor w_ih;     // [G*H, I]
  Tensor w_hh;     // [G*H, H]
  Tensor b_ih;     // [G*H] or undefined (then b_hh must be undefined too)
  Tensor b_hh;     // [G*H] or undefined
  Tensor lengths;  // int64 [B] with values in [0, T], or undefined (all sequences are T long)
  bool reverse = false;  // run t = length-1 down to 0
};

// Returns the states [T, B, S] (S = state_width): states[t] is the state after step t.
// Where t >= lengths[b] the state is carried unchanged (forward: the last valid state;
// reverse: the initial state), so the final state is always states[T-1] (forward) or
// states[0] (reverse). For the LSTM, states[..., :H] is h and states[..., H:] is c.
// Outputs past a sequence's length are the module's business (it zeroes them).
Tensor recurrent(CellType cell, const RecurrentInputs& in);
Tensor recurrent_reference(CellType cell, const RecurrentInputs& in);

// Validates shapes and dtypes (the error names the tensor, its shape and the expected one);
// returns {T, B, I, H}.
struct RecurrentDims {
  std::int64_t steps, batch, input, hidden;
};
RecurrentDims check_recurrent_inputs(CellType cell, const RecurrentInputs& in);

}  // namespace ouro
