#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "train/train_helpers.h"

namespace ouro {
namespace {

Tensor rows(const std::vector<double>& values, std::int64_t r, std::int64_t c) {
  return Tensor::from_vector(values, {r, c});
}

TEST(Metrics, AccuracyOverBatchesIsExactNotMeanOfMeans) {
  Accuracy acc;
  EXPECT_TRUE(std::isnan(acc.result()));
  acc.update(rows({0.1, 0.9, 0.8, 0.2, 0.3, 0.7}, 3, 2), Tensor::from_indices({1, 1, 1}, {3}));
  EXPECT_DOUBLE_EQ(acc.result(), 2.0 / 3);
  acc.update(rows({0.6, 0.4}, 1, 2), Tensor::from_indices({0}, {1}));
  EXPECT_DOUBLE_EQ(acc.result(), 3.0 / 4);  // the mean of batch means would be 5/6
  acc.reset();
  // One-hot targets.
  acc.update(rows({0.1, 0.9, 0.8, 0.2}, 2, 2), rows({0, 1, 0, 1}, 2, 2));
  EXPECT_DOUBLE_EQ(acc.result(), 0.5);
}

TEST(Metrics, BinaryAccuracyThresholdsSingleOutputs) {
  Accuracy acc;
  acc.update(Tensor::from_vector(std::vector<double>{0.2, 0.7, 0.5}, {3, 1}),
             Tensor::from_vector(std::vector<double>{0, 1, 0}, {3}));
  EXPECT_DOUBLE_EQ(acc.result(), 2.0 / 3);  // 0.5 counts as positive
}

TEST(Metrics, TopKAccuracy) {
  TopKAccuracy top2(2);
  EXPECT_EQ(top2.name(), "top2_accuracy");
  top2.update(rows({0.1, 0.5, 0.4, 0.6, 0.3, 0.1}, 2, 3), Tensor::from_indices({2, 2}, {2}));
  EXPECT_DOUBLE_EQ(top2.result(), 0.5);
  EXPECT_EQ(make_metric("top3_accuracy")->name(), "top3_accuracy");
}

TEST(Metrics, ConfusionMatrixAndMacroPrecisionRecallF1) {
  // truth [0 0 1 1 2 2], predicted [0 1 1 1 2 0], in two batches.
  const Tensor p1 = rows({1, 0, 0, 0, 1, 0, 0, 1, 0}, 3, 3), t1 = Tensor::from_indices({0, 0, 1}, {3});
  const Tensor p2 = rows({0, 1, 0, 0, 0, 1, 1, 0, 0}, 3, 3), t2 = Tensor::from_indices({1, 2, 2}, {3});
  ConfusionMatrix cm;
  cm.update(p1, t1);
  cm.update(p2, t2);
  testing::expect_values(cm.matrix(), {1, 1, 0, 0, 2, 0, 1, 0, 1});
  PrecisionRecallF1 precision(PrecisionRecallF1::Kind::Precision), recall(PrecisionRecallF1::Kind::Recall),
      f1(PrecisionRecallF1::Kind::F1);
  for (Metric* m : std::vector<Metric*>{&precision, &recall, &f1}) {
    m->update(p1, t1);
    m->update(p2, t2);
  }
  EXPECT_NEAR(precision.result(), (0.5 + 2.0 / 3 + 1) / 3, 1e-15);
  EXPECT_NEAR(recall.result(), (0.5 + 1 + 0.5) / 3, 1e-15);
  EXPECT_NEAR(f1.result(), (0.5 + 0.8 + 2.0 / 3) / 3, 1e-15);
}

TEST(Metrics, BinaryPrecisionRecallArePositiveClass) {
  PrecisionRecallF1 precision(PrecisionRecallF1::Kind::Precision), recall(PrecisionRecallF1::Kind::Recall);
  const Tensor p = Tensor::from_vector(std::vector<double>{0.9, 0.8, 0.2, 0.6}, {4});
  const Tensor t = Tensor::from_vector(std::vector<double>{1, 0, 1, 1}, {4});
  precision.update(p, t);
  recall.update(p, t);
  EXPECT_DOUBLE_EQ(precision.result(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(recall.result(), 2.0 / 3);
}

TEST(Metrics, RegressionMetrics) {
  MeanSquaredError mse;
  MeanAbsoluteError mae;
  R2Score r2;
  const Tensor p1 = Tensor::from_vector(std::vector<double>{1, 2}, {2, 1});
  const Tensor t1 = Tensor::from_vector(std::vector<double>{1, 2}, {2, 1});
  const Tensor p2 = Tensor::from_vector(std::vector<double>{3, 5}, {2, 1});
  const Tensor t2 = Tensor::from_vector(std::vector<double>{3, 4}, {2, 1});
  for (Metric* m : std::vector<Metric*>{&mse, &mae, &r2}) {
    m->update(p1, t1);
    m->update(p2, t2);
  }
  EXPECT_DOUBLE_EQ(mse.result(), 1.0 / 4);
  EXPECT_DOUBLE_EQ(mae.result(), 1.0 / 4);
  EXPECT_NEAR(r2.result(), 1 - 1.0 / 5, 1e-15);  // SS_tot over [1 2 3 4] = 5, SS_res = 1
}

TEST(Metrics, PerplexityIsExpOfMeanTokenCrossEntropy) {
  Perplexity ppl;
  ppl.update(rows({0, 0}, 1, 2), Tensor::from_indices({0}, {1}));
  ppl.update(Tensor::from_vector(std::vector<double>{0, std::log(3.0), 5, 5}, {1, 2, 2}, DType::Float64),
             Tensor::from_indices({1, -100}, {1, 2}));  // the second token is ignored
  EXPECT_NEAR(ppl.result(), std::sqrt(8.0 / 3), 1e-12);  // exp((ln 2 + ln 4/3) / 2)
}

TEST(Metrics, StateRoundTripsAndErrorsNameTheProblem) {
  R2Score r2;
  r2.update(Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}), Tensor::from_vector(std::vector<double>{1, 2, 4}, {3}));
  R2Score copy;
  copy.load_state(r2.state());
  EXPECT_EQ(copy.result(), r2.result());
  testing::expect_error([] { make_metric("accurcy"); }, {"accurcy", "accuracy"});
  Accuracy acc;
  testing::expect_error([&] { acc.update(rows({0.1, 0.9}, 1, 2), Tensor::from_indices({2}, {1})); },
                        {"accuracy", "target 2", "[0, 2)"});
}

}  // namespace
}  // namespace ouro
