#include "ouro/nn/bidirectional.h"

#include <string>

#include "ouro/core/error.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

namespace {

const SequenceLayer& checked(const std::shared_ptr<SequenceLayer>& layer, const char* which) {
  OURO_CHECK(layer != nullptr, "Bidirectional: the ", which, " layer is null");
  return *layer;
}

// Rows [0, n/2) of a state tensor belong to the forward copy, the rest to the backward one.
Tensor state_half(const Tensor& t, bool second, const char* what) {
  if (!t.defined()) return t;
  OURO_CHECK(t.dim() == 3 && t.size(0) % 2 == 0, "Bidirectional: the initial ", what,
             " must be [2 * rows of the wrapped layer's state, batch, features], got ", shape_str(t.shape()));
  const std::int64_t half = t.size(0) / 2;
  return narrow(t, 0, second ? half : 0, half);
}

Tensor join(const Tensor& a, const Tensor& b) {
  if (!a.defined() && !b.defined()) return Tensor();
  return concat({a, b}, 0);
}

}  // namespace

Bidirectional::Bidirectional(std::shared_ptr<SequenceLayer> layer)
    : Bidirectional(layer, checked(layer, "wrapped").fresh_copy()) {}

Bidirectional::Bidirectional(std::shared_ptr<SequenceLayer> forward_layer, std::shared_ptr<SequenceLayer> backward_layer)
    : SequenceLayer(checked(forward_layer, "forward").batch_first(), checked(forward_layer, "forward").return_sequences(),
                    checked(forward_layer, "forward").stateful()),
      forward_(std::move(forward_layer)),
      backward_(std::move(backward_layer)) {
  const SequenceLayer& back = checked(backward_, "backward");
  OURO_CHECK(back.input_size() == forward_->input_size() && back.output_size() == forward_->output_size() &&
                 back.batch_first() == forward_->batch_first() &&
                 back.return_sequences() == forward_->return_sequences() && back.stateful() == forward_->stateful(),
             "Bidirectional: the forward layer (", forward_->type_name(), ", ", forward_->input_size(), " -> ",
             forward_->output_size(), ") and the backward layer (", back.type_name(), ", ", back.input_size(), " -> ",
             back.output_size(), ") must have the same sizes, batch_first, return_sequences and stateful");
  if (auto* rnn = dynamic_cast<const RecurrentLayer*>(forward_.get()))
    OURO_CHECK(!rnn->options().bidirectional, "Bidirectional: the wrapped ", rnn->type_name(),
               " is already bidirectional (options.bidirectional)");
  register_module("forward_layer", forward_);
  register_module("backward_layer", backward_);
}

SequenceLayer::RunResult Bidirectional::run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) {
  RunResult fwd = forward_->run(x, {state_half(initial.h, false, "h"), state_half(initial.c, false, "c")}, lengths);
  // The backward copy reads each sequence from its last valid step to its first; its outputs
  // are put back in the original order, so step t of both halves describes the same input.
  RunResult bwd = backward_->run(reverse_sequences(x, lengths),
                                 {state_half(initial.h, true, "h"), state_half(initial.c, true, "c")}, lengths);
  RunResult result;
  result.output = concat({fwd.output, reverse_sequences(bwd.output, lengths)}, 2);
  result.last = concat({fwd.last, bwd.last}, 1);
  result.state.h = join(fwd.state.h, bwd.state.h);
  result.state.c = join(fwd.state.c, bwd.state.c);
  return result;
}

std::string Bidirectional::config_json() const {
  return "{\"forward_layer\": {\"type\": \"" + forward_->type_name() + "\", \"config\": " + forward_->config_json() +
         "}, \"backward_layer\": {\"type\": \"" + backward_->type_name() + "\", \"config\": " +
         backward_->config_json() + "}}";
}

}  // namespace ouro
