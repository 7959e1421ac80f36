// Bidirectional (Keras's wrapper): runs a layer forward and a second copy of it over each
// sequence reversed within its own length, and concatenates their outputs [forward | backward].
// For layers without a built-in flag (Jordan, or any SequenceLayer); SimpleRNN / LSTM / GRU
// have options.bidirectional, which is PyTorch's layout and faster.
#pragma once
#include <memory>

#include "ouro/nn/recurrent.h"

namespace ouro {

// batch_first, return_sequences and stateful are the wrapped layer's (as in Keras); the two
// copies are always run in their raw time-major form. Children: "forward_layer",
// "backward_layer". State: the forward copy's state rows then the backward copy's, along
// dimension 0 (an initial state is split the same way). return_sequences = false gives the
// forward copy's last valid output next to the backward copy's (its output at step 0).
class Bidirectional : public SequenceLayer {
 public:
  // The backward copy is layer->fresh_copy(): same options, its own parameters.
  explicit Bidirectional(std::shared_ptr<SequenceLayer> layer);
  // Two given layers (same input size, output size and settings).
  Bidirectional(std::shared_ptr<SequenceLayer> forward_layer, std::shared_ptr<SequenceLayer> backward_layer);
  std::string type_name() const override { return "Bidirectional"; }
  std::string config_json() const override;
  RunResult run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) override;
  std::int64_t output_size() const override { return forward_->output_size() + backward_->output_size(); }
  std::int64_t input_size() const override { return forward_->input_size(); }
  std::shared_ptr<SequenceLayer> fresh_copy() const override {
    return std::make_shared<Bidirectional>(forward_->fresh_copy(), backward_->fresh_copy());
  }
  const std::shared_ptr<SequenceLayer>& forward_layer() const { return forward_; }
  const std::shared_ptr<SequenceLayer>& backward_layer() const { return backward_; }

 private:
  std::shared_ptr<SequenceLayer> forward_, backward_;
};

}  // namespace ouro
