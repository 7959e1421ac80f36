// Jordan network (Jordan 1986): the previous OUTPUT, not the hidden state, is fed back:
//   h_t = act(W_xh x_t + W_yh y_{t-1} + b_h),   y_t = act_out(W_hy h_t + b_y)
// Composed from autograd ops one step at a time. Its state (RecurrentState::h) is the
// fed-back output y, shaped [1, B, output_size] like a one-layer RNN's h. (The Elman network,
// which feeds back h, is SimpleRNN.)
#pragma once
#include "ouro/nn/recurrent.h"

namespace ouro {

struct JordanOptions {
  std::int64_t input_size = 0, hidden_size = 0, output_size = 0;
  ActivationKind activation = ActivationKind::Tanh;         // act on h
  ActivationKind output_activation = ActivationKind::None;  // act_out on y: linear by default (forecasting)
  bool bias = true;
  bool batch_first = true;
  bool return_sequences = true;
  bool stateful = false;
  DType dtype = DType::Float32;
  Generator* generator = nullptr;
};

// Parameters: weight_xh [H, I], weight_yh [H, O], bias_h [H], weight_hy [O, H], bias_y [O],
// all uniform in [-1/sqrt(H), 1/sqrt(H)] like the RNN family.
class Jordan : public SequenceLayer {
 public:
  explicit Jordan(const JordanOptions& options);
  Jordan(std::int64_t input_size, std::int64_t hidden_size, std::int64_t output_size);
  std::string type_name() const override { return "Jordan"; }
  std::string config_json() const override;
  RunResult run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) override;
  std::int64_t output_size() const override { return options_.output_size; }
  std::int64_t input_size() const override { return options_.input_size; }
  std::shared_ptr<SequenceLayer> fresh_copy() const override { return std::make_shared<Jordan>(options_); }
  const JordanOptions& options() const { return options_; }

 private:
  JordanOptions options_;
  Tensor w_xh_, w_yh_, b_h_, w_hy_, b_y_;
};

}  // namespace ouro
