// Seeded synthetic data and small models shared by the train-layer tests.
#pragma once
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "ouro/ouro.h"
#include "ouro/train/callbacks.h"
#include "ouro/train/checkpoint.h"
#include "ouro/train/metrics.h"
#include "ouro/train/progress.h"
#include "ouro/train/trainer.h"
#include "ouro/optim/adam.h"
#include "ouro/optim/sgd.h"
#include "ouro/optim/schedule.h"

namespace ouro::testing {

// y = x . w + 0.05 noise, x ~ N(0, 1): a problem a small MLP learns quickly.
inline Dataset regression_data(std::int64_t n, std::uint64_t seed = 7, std::int64_t features = 4) {
  Generator gen(seed);
  Tensor x = randn({n, features}, 0, 1, DType::Float32, &gen);
  const std::vector<float> xs = x.to_float_vector();
  std::vector<float> ys(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double y = 0;
    for (std::int64_t j = 0; j < features; ++j) y += xs[i * features + j] * (0.5 + 0.25 * static_cast<double>(j));
    ys[static_cast<std::size_t>(i)] = static_cast<float>(y + 0.05 * gen.normal());
  }
  return Dataset{x, Tensor::from_vector(ys, {n, 1})};
}

// Three classes: the label is the argmax of x @ W for a fixed W.
inline Dataset classification_data(std::int64_t n, std::uint64_t seed = 11) {
  Generator gen(seed);
  Tensor x = randn({n, 4}, 0, 1, DType::Float32, &gen);
  const std::vector<float> xs = x.to_float_vector();
  const double w[4][3] = {{1, -1, 0}, {0, 1, -1}, {-1, 0, 1}, {0.5, 0.5, -0.5}};
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double best = -1e300;
    for (int c = 0; c < 3; ++c) {
      double s = 0;
      for (int j = 0; j < 4; ++j) s += xs[i * 4 + j] * w[j][c];
      if (s > best) {
        best = s;
        labels[static_cast<std::size_t>(i)] = c;
      }
    }
  }
  return Dataset{x, Tensor::from_indices(labels, {n})};
}

inline std::shared_ptr<Sequential> mlp(std::int64_t in, std::int64_t hidden, std::int64_t out, std::uint64_t seed,
                                       DType dtype = DType::Float32, Generator* dropout_gen = nullptr) {
  Generator gen(seed);
  auto model = std::make_shared<Sequential>();
  model->add(std::make_shared<Linear>(LinearOptions{.in = in, .out = hidden, .bias = true,
                                                    .activation = ActivationKind::Tanh, .dtype = dtype,
                                                    .generator = &gen}));
  if (dropout_gen) model->add(std::make_shared<Dropout>(0.2, dropout_gen));
  model->add(std::make_shared<Linear>(
      LinearOptions{.in = hidden, .out = out, .bias = true, .dtype = dtype, .generator = &gen}));
  return model;
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ouro_train_XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Records every step's loss (a user-written callback).
class LossRecorder : public Callback {
 public:
  void on_batch_end(std::int64_t step, const Logs& logs) override {
    steps.push_back(step);
    losses.push_back(logs.at("loss"));
  }
  std::vector<std::int64_t> steps;
  std::vector<double> losses;
};

inline std::vector<float> flat_weights(const Module& model) {
  std::vector<float> out;
  for (const auto& [name, t] : model.named_parameters()) {
    const std::vector<float> v = t.to_float_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace ouro::testing
