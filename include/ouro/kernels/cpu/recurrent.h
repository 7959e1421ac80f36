// Fused recurrent layer kernels (RNN tanh/relu, LSTM, GRU in PyTorch's gate layout) over a
// whole sequence: the forward that runs every step and saves what backpropagation through
// time needs, and that backward. Plain pointers and sizes; the op in src/ops/recurrent.cpp
// wraps them. All arrays are contiguous and row-major:
//   x [T, B, I], h0 / c0 [B, H], w_ih [G*H, I], w_hh [G*H, H], b_ih / b_hh [G*H] (or null),
//   lengths [B] (or null: every sequence is T long), states [T, B, S] with S = H, or 2H for
//   the LSTM (h then c).
// The steps run inside one OpenMP parallel region, with w_hh packed once for the whole
// sequence: the work of a step is cut into blocks of hidden units (all the gates of those
// units), which the threads take in order from a shared counter; a step's blocks start once
// the previous step's have all finished. Every output element is computed the same way
// whichever thread takes its block, so results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace ouro::kernels {

enum class RnnCell { Tanh, Relu, Lstm, Gru };

struct RnnSizes {
  RnnCell cell = RnnCell::Tanh;
  std::int64_t steps = 0, batch = 0, input = 0, hidden = 0;
  bool reverse = false;
};

// Rows of w_ih per hidden unit: 1, 4 (LSTM) or 3 (GRU).
std::int64_t rnn_gates(RnnCell cell);
// Elements of the buffer the forward fills for the backward: the gate activations [T, B, G*H]
// (LSTM i, f, g, o; GRU r, z, n; for the RNN the pre-activations, unused), and for the GRU
// also W_hn h + b_hn [T, B, H] after them.
std::int64_t rnn_saved_size(const RnnSizes& sizes);

template <typename T>
struct RnnWeights {
  const T* w_ih = nullptr;
  const T* w_hh = nullptr;
  const T* b_ih = nullptr;  // null: no biases (then b_hh is null too)
  const T* b_hh = nullptr;
};

// Runs the layer: writes states (every element) and saved (rnn_saved_size elements). Where
// t >= lengths[b] the state of sequence b is carried unchanged.
template <typename T>
void rnn_forward(const RnnSizes& sizes, const T* x, const T* h0, const T* c0, const RnnWeights<T>& weights,
                 const std::int64_t* lengths, T* states, T* saved);

// Gradients to add into (null: not wanted). Every one is accumulated (+=).
template <typename T>
struct RnnGradients {
  T* x = nullptr;
  T* h0 = nullptr;
  T* c0 = nullptr;
  T* w_ih = nullptr;
  T* w_hh = nullptr;
  T* b_ih = nullptr;
  T* b_hh = nullptr;
};

// Backpropagation through time given grad_states [T, B, S] and what rnn_forward produced.
template <typename T>
void rnn_backward(const RnnSizes& sizes, const T* grad_states, const T* x, const T* h0, const T* c0,
                  const RnnWeights<T>& weights, const std::int64_t* lengths, const T* states, const T* saved,
                  const RnnGradients<T>& grads);

}  // namespace ouro::kernels
