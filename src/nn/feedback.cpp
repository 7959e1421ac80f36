#include "ouro/nn/feedback.h"

#include <sstream>
#include <vector>

#include "ouro/core/error.h"
#include "ouro/ops/arithmetic.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

const char* feedback_mode_name(FeedbackMode mode) {
  return mode == FeedbackMode::Replace ? "replace" : "projected";
}

FeedbackMode feedback_mode_from_name(const std::string& name) {
  if (name == "replace") return FeedbackMode::Replace;
  if (name == "projected") return FeedbackMode::Projected;
  throw Error("Feedback: unknown mode '" + name + "' (expected 'replace' or 'projected')");
}

Feedback::Feedback(ModulePtr f, const FeedbackOptions& options)
    : f_(std::move(f)), options_(options), noise_generator_(options.noise_seed) {
  OURO_CHECK(f_ != nullptr, "Feedback: the wrapped module is null");
  OURO_CHECK(options.steps >= 1, "Feedback: steps (K) must be at least 1, got ", options.steps);
  OURO_CHECK(options.noise_stddev >= 0, "Feedback: noise_stddev must be >= 0, got ", options.noise_stddev);
  add_child("f", f_);
  if (options.mode == FeedbackMode::Projected) {
    OURO_CHECK(options.input_features > 0 && options.output_features > 0,
               "Feedback(projected): input_features and output_features must be positive (the widths P maps "
               "between), got input_features=",
               options.input_features, " output_features=", options.output_features);
    projection_ = std::make_shared<Linear>(LinearOptions{.in = options.output_features,
                                                         .out = options.input_features,
                                                         .bias = options.projection_bias,
                                                         .dtype = options.dtype,
                                                         .generator = options.generator});
    add_child("projection", projection_);
  }
  // Only the initial weights draw from it; a copy of options() must not carry a pointer that
  // may dangle by then.
  options_.generator = nullptr;
}

Tensor Feedback::forward(const Tensor& x) {
  const char* mode = feedback_mode_name(options_.mode);
  if (options_.mode == FeedbackMode::Projected)
    OURO_CHECK(x.dim() >= 1 && x.shape().back() == options_.input_features, "Feedback(projected): expected input with last dimension ",
               options_.input_features, ", got shape ", shape_str(x.shape()));
  const bool noisy = is_training() && options_.noise_stddev > 0;
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(options_.return_sequence ? options_.steps : 1));
  Tensor state = x;
  for (std::int64_t t = 0; t < options_.steps; ++t) {
    Tensor y = f_->forward(state);
    if (options_.return_sequence || t + 1 == options_.steps) outputs.push_back(y);
    if (t + 1 == options_.steps) break;  // nothing more to feed back
    if (options_.mode == FeedbackMode::Replace) {
      OURO_CHECK(y.shape() == x.shape(), "Feedback(", mode, "): the wrapped ", f_->type_name(), " maps shape ",
                 shape_str(x.shape()), " to ", shape_str(y.shape()),
                 "; replace mode feeds the output back as the next input, so f must map its input's shape to "
                 "itself (mode 'projected' adds a learned Linear for other widths)");
      state = y;
    } else {
      OURO_CHECK(y.dim() >= 1 && y.shape().back() == options_.output_features, "Feedback(", mode, "): the wrapped ",
                 f_->type_name(), " returned shape ", shape_str(y.shape()), ", expected last dimension ",
                 options_.output_features, " (output_features)");
      state = add(x, projection_->forward(y));
      OURO_CHECK(state.shape() == x.shape(), "Feedback(", mode, "): x(0) + P f(x) has shape ", shape_str(state.shape()),
                 ", expected the input's ", shape_str(x.shape()));
    }
    // The state is a new tensor here (f's output or the sum), so adding noise never touches
    // a tensor someone else holds; drawn serially from our own generator: deterministic.
    if (noisy) state = add(state, randn(state.shape(), 0.0, options_.noise_stddev, state.dtype(), &noise_generator_));
  }
  if (!options_.return_sequence) return outputs.back();
  return stack(outputs, 0);
}

std::string Feedback::config_json() const {
  std::ostringstream out;
  out.precision(17);
  out << "{\"steps\": " << options_.steps << ", \"mode\": \"" << feedback_mode_name(options_.mode)
      << "\", \"noise_stddev\": " << options_.noise_stddev << ", \"noise_seed\": " << options_.noise_seed
      << ", \"return_sequence\": " << (options_.return_sequence ? "true" : "false");
  if (options_.mode == FeedbackMode::Projected)
    out << ", \"input_features\": " << options_.input_features << ", \"output_features\": " << options_.output_features
        << ", \"projection_bias\": " << (options_.projection_bias ? "true" : "false");
  out << "}";
  return out.str();
}

}  // namespace ouro
