// Dataset subsets and the (stratified) train/test split.
#include <map>
#include <set>

#include "gradcheck.h"
#include "ouro/data/dataset.h"

namespace ouro::testing {
namespace {

// n samples with input row i = {i, 10 i} and class ids from `labels`.
Dataset numbered(const std::vector<std::int64_t>& labels) {
  const auto n = static_cast<std::int64_t>(labels.size());
  std::vector<float> x;
  for (std::int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(10 * i));
  }
  return Dataset{Tensor::from_vector(x, {n, 2}), Tensor::from_indices(labels, {n})};
}

std::vector<std::int64_t> sample_ids(const Dataset& d) {
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < d.size(); ++i) ids.push_back(static_cast<std::int64_t>(d.inputs.at({i, 0})));
  return ids;
}

TEST(Dataset, SubsetCopiesRowsInOrder) {
  const Dataset d = numbered({0, 1, 2, 0, 1});
  const Dataset s = d.subset({4, 0, 4});
  EXPECT_EQ(s.size(), 3);
  expect_values(s.inputs, {4, 40, 0, 0, 4, 40});
  EXPECT_EQ(s.targets.to_index_vector(), (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_TRUE(s.inputs.is_contiguous());
  EXPECT_EQ(d.num_classes(), 3);
  expect_error([&] { d.subset({5}); }, {"index 5", "out of range for 5 samples"});
  Dataset mismatched{Tensor::zeros({3, 2}), Tensor::zeros({4})};
  expect_error([&] { mismatched.subset({0}); }, {"disagree on the number of samples"});
}

TEST(Dataset, SplitIsSeededAndDisjoint) {
  std::vector<std::int64_t> labels(100, 0);
  const Dataset d = numbered(labels);
  const TrainTestSplit a = train_test_split(d, 0.25, 7);
  const TrainTestSplit b = train_test_split(d, 0.25, 7);
  const TrainTestSplit c = train_test_split(d, 0.25, 8);
  EXPECT_EQ(a.train.size(), 75);
  EXPECT_EQ(a.test.size(), 25);
  EXPECT_EQ(sample_ids(a.test), sample_ids(b.test));
  EXPECT_NE(sample_ids(a.test), sample_ids(c.test));
  std::set<std::int64_t> all;
  for (auto id : sample_ids(a.train)) all.insert(id);
  for (auto id : sample_ids(a.test)) all.insert(id);
  EXPECT_EQ(all.size(), 100u);
  expect_error([&] { train_test_split(d, 1.0, 1); }, {"test_fraction", "(0, 1)"});
  expect_error([&] { train_test_split(numbered({0, 1}), 0.1, 1); }, {"both need at least one"});
}

TEST(Dataset, StratifiedSplitKeepsClassProportions) {
  // 60 / 30 / 10 samples of classes 0 / 1 / 2, interleaved.
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 10 == 0 ? 2 : (i % 10 < 4 ? 1 : 0));
  const Dataset d = numbered(labels);
  const TrainTestSplit split = train_test_split(d, 0.2, 3, /*stratified=*/true);
  std::map<std::int64_t, int> train_counts, test_counts;
  for (auto y : split.train.targets.to_index_vector()) ++train_counts[y];
  for (auto y : split.test.targets.to_index_vector()) ++test_counts[y];
  EXPECT_EQ(test_counts, (std::map<std::int64_t, int>{{0, 12}, {1, 6}, {2, 2}}));
  EXPECT_EQ(train_counts, (std::map<std::int64_t, int>{{0, 48}, {1, 24}, {2, 8}}));
  // Labels still belong to their own samples, and the test part is not ordered by class.
  const std::vector<std::int64_t> ids = sample_ids(split.test), ys = split.test.targets.to_index_vector();
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ys[i], labels[static_cast<std::size_t>(ids[i])]);
  EXPECT_FALSE(std::is_sorted(ys.begin(), ys.end()));

  // Uneven shares still add up to round(fraction * N): 7 / 3 samples, 30% -> 3 = 2 + 1.
  const TrainTestSplit small = train_test_split(numbered({0, 0, 0, 0, 0, 0, 0, 1, 1, 1}), 0.3, 1, true);
  std::map<std::int64_t, int> small_counts;
  for (auto y : small.test.targets.to_index_vector()) ++small_counts[y];
  EXPECT_EQ(small_counts, (std::map<std::int64_t, int>{{0, 2}, {1, 1}}));

  Dataset regression{Tensor::zeros({10, 2}), Tensor::zeros({10, 1})};
  expect_error([&] { train_test_split(regression, 0.2, 1, true); }, {"stratified", "int64 class ids"});
}

TEST(Dataset, RandomPermutationIsAPermutation) {
  Generator gen(11);
  std::vector<std::int64_t> p = random_permutation(50, gen);
  std::vector<std::int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  Generator again(11);
  EXPECT_EQ(random_permutation(50, again), p);
}

}  // namespace
}  // namespace ouro::testing
