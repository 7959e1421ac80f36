// The source document's feedback network (a summary of the input fed back to every time step
// by RepeatVector and Concatenate), with its shape bug fixed, built with the functional graph
// API and trained on a task that needs the feedback. Exits 0 only if it learned.
//
// The document wires Concatenate([inputs, RepeatVector(n)(Dense(inputs))]): a [batch, F] input
// next to a [batch, n, hidden] sequence, which no framework can join. Here the input is a
// sequence [T, F]; its summary (Flatten -> Dense ReLU) is repeated T times and joined with the
// sequence step by step, and a softmax Dense classifies every step.
//
// Task: for sequences x_1..x_T whose level mu differs from one sequence to the next, label each
// step 1 if x_t lies above the sequence's own mean, else 0. A step alone cannot tell (mu is
// unknown to it); the fed-back summary carries the mean, so with it the task is learnable. A
// model without the feedback is trained alongside to show the difference.
#include <cmath>
#include <cstdio>

#include "ouro/nn/graph.h"
#include "ouro/nn/summary.h"
#include "ouro/ouro.h"

using namespace ouro;

namespace {

constexpr std::int64_t kSteps = 8, kFeatures = 1, kHidden = 16, kClasses = 2;

struct Data {
  Tensor x, y;  // [n, T, F] float32, [n, T] int64
};

Data make_data(std::int64_t n, Generator& gen) {
  std::vector<float> xs;
  std::vector<std::int64_t> ys;
  for (std::int64_t i = 0; i < n; ++i) {
    // The level's spread (2) dwarfs the within-sequence noise (1), so x_t alone says little
    // about where it sits relative to its own sequence.
    const double level = 2.0 * gen.normal();
    std::vector<double> seq(kSteps);
    double mean = 0;
    for (double& v : seq) {
      v = level + gen.normal();
      mean += v / kSteps;
    }
    for (double v : seq) {
      xs.push_back(static_cast<float>(v));
      ys.push_back(v > mean ? 1 : 0);
    }
  }
  return {Tensor::from_vector(xs, {n, kSteps, kFeatures}), Tensor::from_indices(ys, {n, kSteps})};
}

double accuracy(GraphModel& model, const Data& data) {
  NoGradGuard no_grad;
  const auto predicted = argmax(model(data.x), 2).to_index_vector(), truth = data.y.to_index_vector();
  std::size_t right = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
  return static_cast<double>(right) / static_cast<double>(truth.size());
}

// Softmax outputs, so the loss is the NLL of their log; the clamp keeps log(0) out of reach.
Tensor loss_of(GraphModel& model, const Tensor& x, const Tensor& y) {
  return nll_loss(log(clamp(model(x), 1e-7, 1.0)), y);
}

// The corrected feedback model.
std::shared_ptr<GraphModel> feedback_model(Generator& gen) {
  Sym seq = Input({kSteps, kFeatures}, "sequence");
  Sym summary = call(std::make_shared<Linear>(LinearOptions{.in = kSteps * kFeatures, .out = kHidden,
                                                            .activation = ActivationKind::Relu, .generator = &gen}),
                     call(std::make_shared<Flatten>(), seq), "summary");
  Sym feedback = call(std::make_shared<RepeatVector>(kSteps), summary, "feedback");
  Sym joined = call(std::make_shared<Concatenate>(), {seq, feedback});
  Sym out = call(std::make_shared<Linear>(LinearOptions{.in = kFeatures + kHidden, .out = kClasses,
                                                        .activation = ActivationKind::Softmax, .generator = &gen}),
                 joined, "classifier");
  return std::make_shared<GraphModel>(seq, out);
}

// The same per-step classifier without the feedback: it sees x_t only.
std::shared_ptr<GraphModel> per_step_model(Generator& gen) {
  Sym seq = Input({kSteps, kFeatures}, "sequence");
  Sym hidden = call(std::make_shared<Linear>(LinearOptions{.in = kFeatures, .out = kHidden,
                                                           .activation = ActivationKind::Relu, .generator = &gen}),
                    seq);
  Sym out = call(std::make_shared<Linear>(LinearOptions{.in = kHidden, .out = kClasses,
                                                        .activation = ActivationKind::Softmax, .generator = &gen}),
                 hidden);
  return std::make_shared<GraphModel>(seq, out);
}

// Returns {first epoch's loss, last epoch's loss}.
std::pair<double, double> train(GraphModel& model, const Data& train_data, const Data& test_data, const char* label) {
  Adam adam(model.parameters(), AdamOptions{.lr = 0.01});
  const std::int64_t n = train_data.x.size(0), batch = 64;
  double first = 0, last = 0;
  for (int epoch = 1; epoch <= 40; ++epoch) {
    model.train();
    double epoch_loss = 0;
    for (std::int64_t start = 0; start < n; start += batch) {
      const std::int64_t len = std::min(batch, n - start);
      Tensor loss = loss_of(model, narrow(train_data.x, 0, start, len), narrow(train_data.y, 0, start, len));
      adam.zero_grad();
      loss.backward();
      adam.step();
      epoch_loss += loss.item() * static_cast<double>(len) / static_cast<double>(n);
    }
    model.eval();
    if (epoch == 1) first = epoch_loss;
    last = epoch_loss;
    if (epoch == 1 || epoch % 10 == 0)
      std::printf("  [%s] epoch %2d  loss %.4f  test accuracy %.3f\n", label, epoch, epoch_loss,
                  accuracy(model, test_data));
  }
  return {first, last};
}

}  // namespace

int main() {
  // 1. The document's wiring fails where it is written, with both shapes in the message.
  std::printf("The source document's wiring: Concatenate([inputs, RepeatVector(%lld)(Dense(inputs))])\n",
              static_cast<long long>(kSteps));
  bool wiring_rejected = false;
  try {
    Sym inputs = Input({kSteps}, "inputs");
    Sym hidden = call(std::make_shared<Linear>(kSteps, kHidden, ActivationKind::Relu), inputs);
    Sym feedback = call(std::make_shared<RepeatVector>(kSteps), hidden);
    call(std::make_shared<Concatenate>(), {inputs, feedback});
  } catch (const Error& e) {
    // A [batch, F] tensor cannot be joined with a [batch, T, hidden] sequence along the last axis.
    std::printf("  rejected at graph construction: %s\n\n", e.what());
    wiring_rejected = true;
  }

  // 2. The corrected model, and a baseline without the feedback.
  Generator gen(7);
  const Data train_data = make_data(2048, gen), test_data = make_data(512, gen);
  auto model = feedback_model(gen);
  auto baseline = per_step_model(gen);
  std::printf("Corrected: the sequence's summary is repeated over the %lld steps and joined with them\n%s\n",
              static_cast<long long>(kSteps), summary(*model).c_str());

  std::printf("Task: is x_t above its own sequence's mean? (%lld train / %lld test sequences)\n",
              static_cast<long long>(train_data.x.size(0)), static_cast<long long>(test_data.x.size(0)));
  const auto [first, last] = train(*model, train_data, test_data, "feedback");
  const double feedback_accuracy = accuracy(*model, test_data);
  train(*baseline, train_data, test_data, "no feedback");
  const double baseline_accuracy = accuracy(*baseline, test_data);

  std::printf("\nwith feedback: loss %.4f -> %.4f, test accuracy %.3f; without: test accuracy %.3f\n", first, last,
              feedback_accuracy, baseline_accuracy);
  const bool learned = last < 0.5 * first && feedback_accuracy >= 0.9 && feedback_accuracy > baseline_accuracy + 0.1;
  std::printf("%s\n", learned ? "learned" : "did NOT learn");
  return (learned && wiring_rejected) ? 0 : 1;
}
