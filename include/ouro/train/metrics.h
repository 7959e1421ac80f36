// Metrics as stateful accumulators (reset / update per batch / result), so an epoch's value is
// exact over every sample of the epoch rather than a mean of batch means.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// Predictions and targets are read, never differentiated: update() records no graph. Class
// scores lie along the last dimension ([N, C], or [B, T, C] with targets [B, T]).
class Metric {
 public:
  virtual ~Metric() = default;
  // The key in logs and History ("accuracy"; validation adds "val_").
  virtual std::string name() const = 0;
  virtual void reset() = 0;
  virtual void update(const Tensor& prediction, const Tensor& target) = 0;
  // The value over everything since reset(); NaN when nothing was seen.
  virtual double result() const = 0;
  // The accumulators as numbers, so a checkpoint taken mid-epoch resumes the epoch's value.
  virtual std::vector<double> state() const = 0;
  virtual void load_state(const std::vector<double>& state) = 0;
};

using MetricPtr = std::shared_ptr<Metric>;

// Fraction of correct predictions. With C > 1 scores per row: argmax against int64 labels
// [...] or against the argmax of one-hot / probability targets [..., C]. With one score per
// sample ([N] or [N, 1]): prediction >= threshold against target >= 0.5 (binary; the scores
// are probabilities, so pass threshold 0 for logits).
class Accuracy : public Metric {
 public:
  explicit Accuracy(double threshold = 0.5, std::string name = "accuracy")
      : threshold_(threshold), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void reset() override { correct_ = total_ = 0; }
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override { return {correct_, total_}; }
  void load_state(const std::vector<double>& state) override;

 private:
  double threshold_;
  std::string name_;
  double correct_ = 0, total_ = 0;
};

// Fraction of rows whose target class is among the k highest scores (ties count against:
// the target is in the top k when fewer than k scores are strictly greater). int64 labels or
// one-hot targets, as Accuracy.
class TopKAccuracy : public Metric {
 public:
  explicit TopKAccuracy(std::int64_t k = 5);
  std::string name() const override { return "top" + std::to_string(k_) + "_accuracy"; }
  void reset() override { correct_ = total_ = 0; }
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override { return {correct_, total_}; }
  void load_state(const std::vector<double>& state) override;

 private:
  std::int64_t k_;
  double correct_ = 0, total_ = 0;
};

// Counts (true class, predicted class) pairs. Predicted classes as in Accuracy: argmax over C
// scores, or for one score per sample prediction >= threshold (class 1) else class 0, with
// C = 2. The number of classes is fixed by the first update (or the constructor).
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::int64_t num_classes = 0, double threshold = 0.5)
      : num_classes_(num_classes), threshold_(threshold) {}
  void reset();
  void update(const Tensor& prediction, const Tensor& target);
  std::int64_t num_classes() const { return num_classes_; }
  // counts[true * C + predicted]
  const std::vector<double>& counts() const { return counts_; }
  double count(std::int64_t true_class, std::int64_t predicted_class) const;
  // The counts as an int64 [C, C] tensor, rows = true class (as sklearn's confusion_matrix).
  Tensor matrix() const;
  bool binary() const { return binary_; }

  std::vector<double> state() const;
  void load_state(const std::vector<double>& state);

 private:
  std::int64_t num_classes_;
  double threshold_;
  bool binary_ = false;
  std::vector<double> counts_;
};

// Precision, recall and F1 from a confusion matrix. With one score per sample (binary) they
// are those of the positive class, as Keras's Precision/Recall; with C classes, the unweighted
// mean over all C classes ("macro", as sklearn's average="macro"), a class with no predicted
// (or no true) samples counting 0 as sklearn's zero_division=0. F1 macro is the mean of the
// per-class F1 scores, not the F1 of the macro precision and recall.
class PrecisionRecallF1 : public Metric {
 public:
  enum class Kind { Precision, Recall, F1 };
  explicit PrecisionRecallF1(Kind kind, std::int64_t num_classes = 0, double threshold = 0.5)
      : kind_(kind), matrix_(num_classes, threshold) {}
  std::string name() const override;
  void reset() override { matrix_.reset(); }
  void update(const Tensor& prediction, const Tensor& target) override { matrix_.update(prediction, target); }
  double result() const override;
  std::vector<double> state() const override { return matrix_.state(); }
  void load_state(const std::vector<double>& state) override { matrix_.load_state(state); }
  const ConfusionMatrix& confusion_matrix() const { return matrix_; }

 private:
  Kind kind_;
  ConfusionMatrix matrix_;
};

// Mean squared / absolute error over every element (targets are reshaped to the predictions'
// shape when they hold as many elements).
class MeanSquaredError : public Metric {
 public:
  std::string name() const override { return "mse"; }
  void reset() override { sum_ = count_ = 0; }
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override { return {sum_, count_}; }
  void load_state(const std::vector<double>& state) override;

 private:
  double sum_ = 0, count_ = 0;
};

class MeanAbsoluteError : public Metric {
 public:
  std::string name() const override { return "mae"; }
  void reset() override { sum_ = count_ = 0; }
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override { return {sum_, count_}; }
  void load_state(const std::vector<double>& state) override;

 private:
  double sum_ = 0, count_ = 0;
};

// Coefficient of determination 1 - SS_res / SS_tot, per output column (the last dimension;
// one column for [N]) and averaged uniformly over columns, as sklearn's r2_score. The targets'
// mean and spread are merged batch by batch with Chan's parallel formula, so the epoch value
// equals r2_score over the whole epoch at once.
class R2Score : public Metric {
 public:
  std::string name() const override { return "r2"; }
  void reset() override;
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override;
  void load_state(const std::vector<double>& state) override;

 private:
  std::int64_t columns_ = 0;
  // per column: count, mean of target, M2 of target, sum of squared residuals
  std::vector<double> count_, mean_, m2_, ss_res_;
};

// exp(mean token cross-entropy): logits [..., V], int64 targets [...]; tokens whose target
// equals ignore_index do not count. The cross-entropy is computed in double per token.
class Perplexity : public Metric {
 public:
  explicit Perplexity(std::int64_t ignore_index = -100) : ignore_index_(ignore_index) {}
  std::string name() const override { return "perplexity"; }
  void reset() override { sum_ = count_ = 0; }
  void update(const Tensor& prediction, const Tensor& target) override;
  double result() const override;
  std::vector<double> state() const override { return {sum_, count_}; }
  void load_state(const std::vector<double>& state) override;

 private:
  std::int64_t ignore_index_;
  double sum_ = 0, count_ = 0;
};

// A metric by name: "accuracy" ("acc"), "binary_accuracy" (Accuracy with threshold 0.5),
// "top_k_accuracy" (k = 5) or "top<k>_accuracy", "precision", "recall", "f1", "mse", "mae",
// "r2", "perplexity". Anything else is an error listing these.
MetricPtr make_metric(const std::string& name);

}  // namespace ouro
