#include "ouro/train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ouro/core/error.h"

namespace ouro {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Read access to any tensor's elements as double in row-major order, copying only when the
// tensor is a non-contiguous view (metrics run every step; no per-element allocation).
class Values {
 public:
  explicit Values(const Tensor& t) : held_(t.is_contiguous() ? t : t.copy()), dtype_(held_.dtype()) {
    data_ = held_.raw_data();
  }
  double operator[](std::int64_t i) const {
    switch (dtype_) {
      case DType::Float32: return static_cast<const float*>(data_)[i];
      case DType::Float64: return static_cast<const double*>(data_)[i];
      case DType::Int64: return static_cast<double>(static_cast<const std::int64_t*>(data_)[i]);
    }
    return 0;
  }
  std::int64_t size() const { return held_.numel(); }

 private:
  Tensor held_;
  DType dtype_;
  const void* data_;
};

std::int64_t argmax_row(const Values& v, std::int64_t row, std::int64_t c) {
  std::int64_t best = 0;
  double best_value = v[row * c];
  for (std::int64_t j = 1; j < c; ++j) {
    const double x = v[row * c + j];
    if (x > best_value) {  // first maximum wins, as torch.argmax
      best_value = x;
      best = j;
    }
  }
  return best;
}

// How a classification batch is laid out: `rows` samples of `classes` scores, and whether the
// targets are class ids (one per row) or distributions (C per row).
struct ClassLayout {
  std::int64_t rows = 0;
  std::int64_t classes = 0;
  bool target_is_index = true;
};

ClassLayout class_layout(const char* who, const Tensor& prediction, const Tensor& target) {
  OURO_CHECK(prediction.defined() && target.defined(), who, ": prediction and target must be defined");
  OURO_CHECK(prediction.dim() >= 1, who, ": prediction must have rank >= 1, got ", prediction.describe());
  ClassLayout layout;
  const Shape& p = prediction.shape();
  const bool single = prediction.dim() == 1 || p.back() == 1;
  layout.classes = single ? 1 : p.back();
  layout.rows = layout.classes == 0 ? 0 : prediction.numel() / layout.classes;
  if (single) {
    OURO_CHECK(target.numel() == layout.rows, who, ": one score per sample needs one target per sample: prediction ",
               shape_str(p), ", target ", shape_str(target.shape()));
    return layout;
  }
  if (target.numel() == layout.rows) {
    layout.target_is_index = true;
  } else {
    OURO_CHECK(target.shape() == p, who, ": targets must be class ids of shape ",
               shape_str(Shape(p.begin(), p.end() - 1)), " or distributions of shape ", shape_str(p), ", got ",
               shape_str(target.shape()));
    layout.target_is_index = false;
  }
  return layout;
}

std::int64_t target_class(const char* who, const Values& t, const ClassLayout& layout, std::int64_t row) {
  if (!layout.target_is_index) return argmax_row(t, row, layout.classes);
  const double value = t[row];
  const auto label = static_cast<std::int64_t>(value);
  OURO_CHECK(label >= 0 && label < layout.classes && static_cast<double>(label) == value, who, ": target ", value,
             " at row ", row, " is not a class id in [0, ", layout.classes, ")");
  return label;
}

void check_state(const char* who, const std::vector<double>& state, std::size_t expected) {
  OURO_CHECK(state.size() == expected, who, ": load_state: expected ", expected, " numbers, got ", state.size());
}

void check_same_size(const char* who, const Tensor& prediction, const Tensor& target) {
  OURO_CHECK(prediction.defined() && target.defined(), who, ": prediction and target must be defined");
  OURO_CHECK(prediction.numel() == target.numel(), who, ": prediction ", shape_str(prediction.shape()),
             " and target ", shape_str(target.shape()), " hold different numbers of elements");
}

}  // namespace

// ---- Accuracy ----

void Accuracy::update(const Tensor& prediction, const Tensor& target) {
  const ClassLayout layout = class_layout("accuracy", prediction, target);
  const Values p(prediction), t(target);
  std::int64_t correct = 0;
  if (layout.classes == 1) {
    for (std::int64_t i = 0; i < layout.rows; ++i) correct += (p[i] >= threshold_) == (t[i] >= 0.5);
  } else {
    for (std::int64_t i = 0; i < layout.rows; ++i)
      correct += argmax_row(p, i, layout.classes) == target_class("accuracy", t, layout, i);
  }
  correct_ += static_cast<double>(correct);
  total_ += static_cast<double>(layout.rows);
}

double Accuracy::result() const { return total_ > 0 ? correct_ / total_ : kNaN; }

void Accuracy::load_state(const std::vector<double>& state) {
  check_state("accuracy", state, 2);
  correct_ = state[0];
  total_ = state[1];
}

// ---- TopKAccuracy ----

TopKAccuracy::TopKAccuracy(std::int64_t k) : k_(k) { OURO_CHECK(k >= 1, "top_k_accuracy: k must be >= 1, got ", k); }

void TopKAccuracy::update(const Tensor& prediction, const Tensor& target) {
  const ClassLayout layout = class_layout("top_k_accuracy", prediction, target);
  OURO_CHECK(layout.classes > 1, "top_k_accuracy: needs C > 1 scores per row, got ", shape_str(prediction.shape()));
  const Values p(prediction), t(target);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < layout.rows; ++i) {
    const std::int64_t label = target_class("top_k_accuracy", t, layout, i);
    const double score = p[i * layout.classes + label];
    std::int64_t greater = 0;
    for (std::int64_t j = 0; j < layout.classes; ++j) greater += p[i * layout.classes + j] > score;
    correct += greater < k_;
  }
  correct_ += static_cast<double>(correct);
  total_ += static_cast<double>(layout.rows);
}

double TopKAccuracy::result() const { return total_ > 0 ? correct_ / total_ : kNaN; }

void TopKAccuracy::load_state(const std::vector<double>& state) {
  check_state("top_k_accuracy", state, 2);
  correct_ = state[0];
  total_ = state[1];
}

// ---- ConfusionMatrix ----

void ConfusionMatrix::reset() { std::fill(counts_.begin(), counts_.end(), 0.0); }

void ConfusionMatrix::update(const Tensor& prediction, const Tensor& target) {
  const ClassLayout layout = class_layout("confusion_matrix", prediction, target);
  const std::int64_t classes = layout.classes == 1 ? 2 : layout.classes;
  if (counts_.empty()) {
    if (num_classes_ == 0) num_classes_ = classes;
    OURO_CHECK(num_classes_ == classes, "confusion_matrix: built for ", num_classes_, " classes, the prediction has ",
               classes, " (", shape_str(prediction.shape()), ")");
    binary_ = layout.classes == 1;
    counts_.assign(static_cast<std::size_t>(num_classes_ * num_classes_), 0.0);
  }
  OURO_CHECK(classes == num_classes_ && binary_ == (layout.classes == 1), "confusion_matrix: counted ", num_classes_,
             " classes so far, this prediction has ", classes, " (", shape_str(prediction.shape()), ")");
  const Values p(prediction), t(target);
  for (std::int64_t i = 0; i < layout.rows; ++i) {
    std::int64_t truth, predicted;
    if (binary_) {
      truth = t[i] >= 0.5;
      predicted = p[i] >= threshold_;
    } else {
      truth = target_class("confusion_matrix", t, layout, i);
      predicted = argmax_row(p, i, layout.classes);
    }
    counts_[static_cast<std::size_t>(truth * num_classes_ + predicted)] += 1;
  }
}

double ConfusionMatrix::count(std::int64_t true_class, std::int64_t predicted_class) const {
  OURO_CHECK(true_class >= 0 && true_class < num_classes_ && predicted_class >= 0 && predicted_class < num_classes_,
             "confusion_matrix: class pair (", true_class, ", ", predicted_class, ") out of range for ", num_classes_,
             " classes");
  if (counts_.empty()) return 0;
  return counts_[static_cast<std::size_t>(true_class * num_classes_ + predicted_class)];
}

Tensor ConfusionMatrix::matrix() const {
  std::vector<std::int64_t> values(static_cast<std::size_t>(num_classes_ * num_classes_), 0);
  for (std::size_t i = 0; i < counts_.size(); ++i) values[i] = static_cast<std::int64_t>(counts_[i]);
  return Tensor::from_indices(values, {num_classes_, num_classes_});
}

// Layout: C, binary flag, then the C*C counts (empty when nothing was counted yet).
std::vector<double> ConfusionMatrix::state() const {
  std::vector<double> out{static_cast<double>(counts_.empty() ? 0 : num_classes_), binary_ ? 1.0 : 0.0};
  out.insert(out.end(), counts_.begin(), counts_.end());
  return out;
}

void ConfusionMatrix::load_state(const std::vector<double>& state) {
  OURO_CHECK(state.size() >= 2, "confusion_matrix: load_state: expected at least 2 numbers, got ", state.size());
  const auto classes = static_cast<std::int64_t>(state[0]);
  check_state("confusion_matrix", state, static_cast<std::size_t>(2 + classes * classes));
  if (classes == 0) {
    counts_.clear();
    return;
  }
  num_classes_ = classes;
  binary_ = state[1] != 0;
  counts_.assign(state.begin() + 2, state.end());
}

// ---- PrecisionRecallF1 ----

std::string PrecisionRecallF1::name() const {
  switch (kind_) {
    case Kind::Precision: return "precision";
    case Kind::Recall: return "recall";
    case Kind::F1: return "f1";
  }
  return "?";
}

double PrecisionRecallF1::result() const {
  const std::int64_t c = matrix_.num_classes();
  if (matrix_.counts().empty()) return kNaN;
  auto score = [&](std::int64_t k) {
    double tp = matrix_.count(k, k), predicted = 0, actual = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      predicted += matrix_.count(j, k);
      actual += matrix_.count(k, j);
    }
    const double precision = predicted > 0 ? tp / predicted : 0.0;
    const double recall = actual > 0 ? tp / actual : 0.0;
    switch (kind_) {
      case Kind::Precision: return precision;
      case Kind::Recall: return recall;
      case Kind::F1: return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    }
    return 0.0;
  };
  if (matrix_.binary()) return score(1);
  double total = 0;
  for (std::int64_t k = 0; k < c; ++k) total += score(k);
  return total / static_cast<double>(c);
}

// ---- MSE, MAE ----

void MeanSquaredError::update(const Tensor& prediction, const Tensor& target) {
  check_same_size("mse", prediction, target);
  const Values p(prediction), t(target);
  double sum = 0;
  for (std::int64_t i = 0; i < p.size(); ++i) {
    const double d = p[i] - t[i];
    sum += d * d;
  }
  sum_ += sum;
  count_ += static_cast<double>(p.size());
}

double MeanSquaredError::result() const { return count_ > 0 ? sum_ / count_ : kNaN; }

void MeanSquaredError::load_state(const std::vector<double>& state) {
  check_state("mse", state, 2);
  sum_ = state[0];
  count_ = state[1];
}

void MeanAbsoluteError::update(const Tensor& prediction, const Tensor& target) {
  check_same_size("mae", prediction, target);
  const Values p(prediction), t(target);
  double sum = 0;
  for (std::int64_t i = 0; i < p.size(); ++i) sum += std::abs(p[i] - t[i]);
  sum_ += sum;
  count_ += static_cast<double>(p.size());
}

double MeanAbsoluteError::result() const { return count_ > 0 ? sum_ / count_ : kNaN; }

void MeanAbsoluteError::load_state(const std::vector<double>& state) {
  check_state("mae", state, 2);
  sum_ = state[0];
  count_ = state[1];
}

// ---- R2Score ----

void R2Score::reset() {
  columns_ = 0;
  count_.clear();
  mean_.clear();
  m2_.clear();
  ss_res_.clear();
}

void R2Score::update(const Tensor& prediction, const Tensor& target) {
  check_same_size("r2", prediction, target);
  const std::int64_t columns = prediction.dim() >= 2 ? prediction.shape().back() : 1;
  if (columns_ == 0) {
    columns_ = columns;
    count_.assign(static_cast<std::size_t>(columns), 0.0);
    mean_ = m2_ = ss_res_ = count_;
  }
  OURO_CHECK(columns == columns_, "r2: saw ", columns_, " output columns so far, this prediction has ", columns, " (",
             shape_str(prediction.shape()), ")");
  const Values p(prediction), t(target);
  const std::int64_t rows = columns == 0 ? 0 : p.size() / columns;
  for (std::int64_t c = 0; c < columns; ++c) {
    // This batch's mean and M2, then Chan et al.'s merge with the running ones.
    double batch_mean = 0, batch_m2 = 0, residual = 0;
    for (std::int64_t i = 0; i < rows; ++i) batch_mean += t[i * columns + c];
    batch_mean /= static_cast<double>(rows);
    for (std::int64_t i = 0; i < rows; ++i) {
      const double y = t[i * columns + c];
      batch_m2 += (y - batch_mean) * (y - batch_mean);
      residual += (y - p[i * columns + c]) * (y - p[i * columns + c]);
    }
    if (rows == 0) continue;
    const auto k = static_cast<std::size_t>(c);
    const double n_a = count_[k], n_b = static_cast<double>(rows), n = n_a + n_b;
    const double delta = batch_mean - mean_[k];
    mean_[k] += delta * n_b / n;
    m2_[k] += batch_m2 + delta * delta * n_a * n_b / n;
    count_[k] = n;
    ss_res_[k] += residual;
  }
}

double R2Score::result() const {
  if (columns_ == 0 || count_[0] == 0) return kNaN;
  double total = 0;
  for (std::size_t c = 0; c < count_.size(); ++c) {
    // A constant target column scores 1 when predicted exactly and 0 otherwise, as sklearn.
    if (m2_[c] == 0) total += ss_res_[c] == 0 ? 1.0 : 0.0;
    else total += 1.0 - ss_res_[c] / m2_[c];
  }
  return total / static_cast<double>(count_.size());
}

std::vector<double> R2Score::state() const {
  std::vector<double> out{static_cast<double>(columns_)};
  for (std::size_t c = 0; c < count_.size(); ++c) out.insert(out.end(), {count_[c], mean_[c], m2_[c], ss_res_[c]});
  return out;
}

void R2Score::load_state(const std::vector<double>& state) {
  OURO_CHECK(!state.empty(), "r2: load_state: expected at least 1 number, got 0");
  const auto columns = static_cast<std::int64_t>(state[0]);
  check_state("r2", state, static_cast<std::size_t>(1 + 4 * columns));
  reset();
  columns_ = columns;
  for (std::int64_t c = 0; c < columns; ++c) {
    const std::size_t at = static_cast<std::size_t>(1 + 4 * c);
    count_.push_back(state[at]);
    mean_.push_back(state[at + 1]);
    m2_.push_back(state[at + 2]);
    ss_res_.push_back(state[at + 3]);
  }
}

// ---- Perplexity ----

void Perplexity::update(const Tensor& prediction, const Tensor& target) {
  OURO_CHECK(prediction.defined() && target.defined() && prediction.dim() >= 1, "perplexity: needs logits [..., V]");
  const std::int64_t vocab = prediction.shape().back();
  OURO_CHECK(vocab > 0 && target.numel() * vocab == prediction.numel(), "perplexity: logits ",
             shape_str(prediction.shape()), " need one int64 target per row, got ", shape_str(target.shape()));
  const Values p(prediction), t(target);
  double sum = 0;
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < t.size(); ++i) {
    const auto label = static_cast<std::int64_t>(t[i]);
    if (label == ignore_index_) continue;
    OURO_CHECK(label >= 0 && label < vocab, "perplexity: target ", label, " at row ", i, " is outside [0, ", vocab,
               ")");
    double max = p[i * vocab];
    for (std::int64_t j = 1; j < vocab; ++j) max = std::max(max, p[i * vocab + j]);
    double total = 0;
    for (std::int64_t j = 0; j < vocab; ++j) total += std::exp(p[i * vocab + j] - max);
    sum += std::log(total) + max - p[i * vocab + label];
    ++count;
  }
  sum_ += sum;
  count_ += static_cast<double>(count);
}

double Perplexity::result() const { return count_ > 0 ? std::exp(sum_ / count_) : kNaN; }

void Perplexity::load_state(const std::vector<double>& state) {
  check_state("perplexity", state, 2);
  sum_ = state[0];
  count_ = state[1];
}

// ---- by name ----

MetricPtr make_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_shared<Accuracy>();
  if (name == "binary_accuracy") return std::make_shared<Accuracy>(0.5, "binary_accuracy");
  if (name == "top_k_accuracy") return std::make_shared<TopKAccuracy>(5);
  if (name.size() > 12 && name.rfind("top", 0) == 0 && name.substr(name.size() - 9) == "_accuracy") {
    const std::string digits = name.substr(3, name.size() - 12);
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos && digits.size() < 10)
      return std::make_shared<TopKAccuracy>(std::stoll(digits));
  }
  if (name == "precision") return std::make_shared<PrecisionRecallF1>(PrecisionRecallF1::Kind::Precision);
  if (name == "recall") return std::make_shared<PrecisionRecallF1>(PrecisionRecallF1::Kind::Recall);
  if (name == "f1") return std::make_shared<PrecisionRecallF1>(PrecisionRecallF1::Kind::F1);
  if (name == "mse") return std::make_shared<MeanSquaredError>();
  if (name == "mae") return std::make_shared<MeanAbsoluteError>();
  if (name == "r2") return std::make_shared<R2Score>();
  if (name == "perplexity") return std::make_shared<Perplexity>();
  throw Error("metric: unknown name '" + name +
              "'; expected accuracy, binary_accuracy, top_k_accuracy, top<k>_accuracy, precision, recall, f1, mse, "
              "mae, r2 or perplexity");
}

}  // namespace ouro
