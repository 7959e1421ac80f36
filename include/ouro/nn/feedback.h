// Feedback: runs any module f K times in a closed loop, feeding its output back as its next
// input — the source document's x(t+1) = f(x(t)) + noise(t) — trained end to end through all
// K steps (backpropagation through the loop is ordinary autograd over the unrolled steps).
//
// Two ways to close the loop (FeedbackMode):
//   Replace:   x(0) = input,  y(t) = f(x(t)),  x(t+1) = y(t) + noise(t).
//              f must map its input's shape to itself.
//   Projected: x(0) = input,  y(t) = f(x(t)),  x(t+1) = x(0) + P y(t) + noise(t),
//              P a learned Linear(output_features -> input_features) over the last dimension.
//              The input stays in view at every step (a residual around the loop) and f may
//              change the width (e.g. a classifier whose logits are fed back, Jordan-style).
// The iterates returned are the outputs y(0), ..., y(K-1) of f, without noise: the noise only
// perturbs what is fed back, so in training the loop learns to correct perturbed states; in
// eval mode no noise is drawn at all. With return_sequence they are stacked on a new leading
// dimension [K, ...]; otherwise the last, y(K-1), is returned (the form Trainer expects).
//
// The noise comes from the module's own Generator (seeded by noise_seed), never the default
// one, so adding a Feedback does not shift anyone else's random numbers; pass
// noise_generator() to FitOptions::generators to have checkpoints save and restore it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ouro/nn/linear.h"
#include "ouro/nn/module.h"
#include "ouro/tensor/random.h"

namespace ouro {

enum class FeedbackMode { Replace, Projected };
const char* feedback_mode_name(FeedbackMode mode);
// "replace" / "projected"; anything else is an error listing both.
FeedbackMode feedback_mode_from_name(const std::string& name);

struct FeedbackOptions {
  std::int64_t steps = 4;  // K >= 1 applications of f
  FeedbackMode mode = FeedbackMode::Replace;
  double noise_stddev = 0;  // sigma of the Gaussian noise added to each fed-back state, training only
  std::uint64_t noise_seed = 0x5eed;
  bool return_sequence = false;  // true: every iterate, stacked [K, ...]; false: the last
  // Projected mode only: P maps f's last dimension (output_features) to the input's
  // (input_features); both must be given.
  std::int64_t input_features = 0;
  std::int64_t output_features = 0;
  bool projection_bias = true;
  DType dtype = DType::Float32;    // of P's parameters
  Generator* generator = nullptr;  // for P's initial weights (default generator when null); not kept
};

class Feedback : public Module {
 public:
  Feedback(ModulePtr f, const FeedbackOptions& options);
  std::string type_name() const override { return "Feedback"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

  const FeedbackOptions& options() const { return options_; }
  Module& inner() const { return *f_; }
  const ModulePtr& inner_ptr() const { return f_; }
  // The learned projection P (Projected mode; null in Replace mode).
  const std::shared_ptr<Linear>& projection() const { return projection_; }
  // The generator the training noise is drawn from (reseed it to replay a noisy pass exactly).
  Generator& noise_generator() { return noise_generator_; }

 private:
  ModulePtr f_;
  std::shared_ptr<Linear> projection_;
  FeedbackOptions options_;
  Generator noise_generator_;
};

}  // namespace ouro
