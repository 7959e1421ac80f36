#include "ouro/nn/jordan.h"

#include <cmath>
#include <sstream>
#include <vector>

#include "ouro/core/error.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/linear.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

Jordan::Jordan(const JordanOptions& options)
    : SequenceLayer(options.batch_first, options.return_sequences, options.stateful), options_(options) {
  OURO_CHECK(options.input_size > 0 && options.hidden_size > 0 && options.output_size > 0,
             "Jordan: input_size, hidden_size and output_size must be positive, got ", options.input_size, ", ",
             options.hidden_size, ", ", options.output_size);
  OURO_CHECK(options.dtype != DType::Int64, "Jordan: dtype must be float32 or float64");
  const std::int64_t I = options.input_size, H = options.hidden_size, O = options.output_size;
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  auto draw = [&](const Shape& shape) { return rand(shape, -bound, bound, options.dtype, options.generator); };
  w_xh_ = register_parameter("weight_xh", draw({H, I}));
  w_yh_ = register_parameter("weight_yh", draw({H, O}));
  if (options.bias) b_h_ = register_parameter("bias_h", draw({H}));
  w_hy_ = register_parameter("weight_hy", draw({O, H}));
  if (options.bias) b_y_ = register_parameter("bias_y", draw({O}));
}

namespace {
JordanOptions jordan_sizes(std::int64_t input_size, std::int64_t hidden_size, std::int64_t output_size) {
  JordanOptions options;
  options.input_size = input_size;
  options.hidden_size = hidden_size;
  options.output_size = output_size;
  return options;
}
}  // namespace

Jordan::Jordan(std::int64_t input_size, std::int64_t hidden_size, std::int64_t output_size)
    : Jordan(jordan_sizes(input_size, hidden_size, output_size)) {}

SequenceLayer::RunResult Jordan::run(const Tensor& x, const RecurrentState& initial, const Tensor& lengths) {
  const std::int64_t steps = x.size(0), batch = x.size(1), O = options_.output_size;
  OURO_CHECK(!initial.c.defined(), "Jordan: has no cell state c; its state is the fed-back output h");
  if (initial.h.defined())
    OURO_CHECK(initial.h.shape() == (Shape{1, batch, O}), "Jordan: the initial output h must be [1, batch, output] = ",
               shape_str(Shape{1, batch, O}), ", got ", shape_str(initial.h.shape()));
  const std::vector<std::int64_t> len = lengths.to_index_vector();
  Tensor y = initial.h.defined() ? squeeze(initial.h, 0) : Tensor::zeros({batch, O}, options_.dtype);
  // The input side of every step as one GEMM; only the feedback term is per step.
  const Tensor projected = linear(x, w_xh_, b_h_);  // [T, B, H]
  std::vector<Tensor> outputs;
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor pre = add(squeeze(narrow(projected, 0, t, 1), 0), linear(y, w_yh_));
    const Tensor h = apply_activation(pre, options_.activation);
    const Tensor y_next = apply_activation(linear(h, w_hy_, b_y_), options_.output_activation);
    std::vector<double> active(static_cast<std::size_t>(batch));
    bool all_active = true;
    for (std::int64_t b = 0; b < batch; ++b) {
      const bool on = t < len[static_cast<std::size_t>(b)];
      active[static_cast<std::size_t>(b)] = on ? 1.0 : 0.0;
      all_active = all_active && on;
    }
    if (all_active) {
      y = y_next;
      outputs.push_back(y_next);
    } else {
      // Ended sequences keep their last output as state and emit zeros.
      const Tensor keep = Tensor::from_vector(active, {batch, 1}, options_.dtype);
      y = add(mul(keep, y_next), mul(1.0 - keep, y));
      outputs.push_back(mul(keep, y_next));
    }
  }
  RunResult result;
  result.output = steps == 0 ? Tensor::zeros({0, batch, O}, options_.dtype) : stack(outputs, 0);
  result.last = y;
  result.state.h = unsqueeze(y, 0);
  return result;
}

std::string Jordan::config_json() const {
  std::ostringstream out;
  out << "{\"input_size\": " << options_.input_size << ", \"hidden_size\": " << options_.hidden_size
      << ", \"output_size\": " << options_.output_size << ", \"activation\": \"" << activation_name(options_.activation)
      << "\", \"output_activation\": \"" << activation_name(options_.output_activation)
      << "\", \"bias\": " << (options_.bias ? "true" : "false")
      << ", \"batch_first\": " << (options_.batch_first ? "true" : "false")
      << ", \"return_sequences\": " << (options_.return_sequences ? "true" : "false")
      << ", \"stateful\": " << (options_.stateful ? "true" : "false") << "}";
  return out.str();
}

}  // namespace ouro
