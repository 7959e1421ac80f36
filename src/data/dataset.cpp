#include "ouro/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ouro/core/error.h"

namespace ouro {

std::int64_t Dataset::size() const {
  OURO_CHECK(inputs.defined() && inputs.dim() >= 1, "Dataset: inputs must be a tensor with a sample dimension");
  return inputs.size(0);
}

void Dataset::check(const char* who) const {
  OURO_CHECK(inputs.defined(), who, ": the dataset has no inputs");
  OURO_CHECK(inputs.dim() >= 1, who, ": inputs need a sample dimension, got ", inputs.describe());
  if (targets.defined()) {
    OURO_CHECK(targets.dim() >= 1 && targets.size(0) == inputs.size(0), who, ": inputs (", inputs.describe(),
               ") and targets (", targets.describe(), ") disagree on the number of samples");
  }
}

Dataset Dataset::subset(const std::vector<std::int64_t>& indices) const {
  check("Dataset::subset");
  Dataset out;
  out.inputs = select_rows(inputs, indices);
  if (targets.defined()) out.targets = select_rows(targets, indices);
  return out;
}

std::int64_t Dataset::num_classes() const {
  check("Dataset::num_classes");
  OURO_CHECK(targets.defined() && targets.dtype() == DType::Int64 && targets.dim() == 1,
             "Dataset::num_classes: expected int64 class ids of shape [N], got ",
             targets.defined() ? targets.describe() : std::string("no targets"));
  std::int64_t top = -1;
  for (std::int64_t label : targets.to_index_vector()) top = std::max(top, label);
  return top + 1;
}

Tensor select_rows(const Tensor& t, const std::vector<std::int64_t>& indices) {
  OURO_CHECK(t.defined() && t.dim() >= 1, "select_rows: expected a tensor with a sample dimension");
  const Tensor source = t.is_contiguous() ? t : t.copy();
  const std::int64_t n = source.size(0);
  Shape shape = source.shape();
  shape[0] = static_cast<std::int64_t>(indices.size());
  Tensor out = Tensor::empty(shape, source.dtype());
  const std::size_t row_bytes =
      n == 0 ? 0 : static_cast<std::size_t>(source.numel() / n) * dtype_size(source.dtype());
  const auto* from = static_cast<const unsigned char*>(source.raw_data());
  auto* to = static_cast<unsigned char*>(out.raw_data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::int64_t index = indices[i];
    OURO_CHECK(index >= 0 && index < n, "select_rows: index ", index, " (position ", i, ") is out of range for ", n,
               " samples");
    std::memcpy(to + i * row_bytes, from + static_cast<std::size_t>(index) * row_bytes, row_bytes);
  }
  return out;
}

std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen) {
  OURO_CHECK(n >= 0, "random_permutation: n must be >= 0, got ", n);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.integer(i + 1)]);
  return order;
}

TrainTestSplit train_test_split(const Dataset& dataset, double test_fraction, std::uint64_t seed, bool stratified) {
  dataset.check("train_test_split");
  OURO_CHECK(test_fraction > 0 && test_fraction < 1, "train_test_split: test_fraction must lie in (0, 1), got ",
             test_fraction);
  const std::int64_t n = dataset.size();
  const auto n_test = static_cast<std::int64_t>(std::llround(test_fraction * static_cast<double>(n)));
  OURO_CHECK(n_test >= 1 && n_test < n, "train_test_split: test_fraction ", test_fraction, " of ", n,
             " samples leaves ", n_test, " for testing and ", n - n_test, " for training; both need at least one");
  Generator gen(seed);
  std::vector<std::int64_t> train, test;
  if (!stratified) {
    const std::vector<std::int64_t> order = random_permutation(n, gen);
    test.assign(order.begin(), order.begin() + n_test);
    train.assign(order.begin() + n_test, order.end());
    return {dataset.subset(train), dataset.subset(test)};
  }

  const Tensor& targets = dataset.targets;
  OURO_CHECK(targets.defined() && targets.dtype() == DType::Int64 && targets.dim() == 1,
             "train_test_split: stratified splitting needs int64 class ids of shape [N], got ",
             targets.defined() ? targets.describe() : std::string("no targets"));
  const std::vector<std::int64_t> labels = targets.to_index_vector();
  std::int64_t num_classes = 0;
  for (std::int64_t label : labels) {
    OURO_CHECK(label >= 0, "train_test_split: class ids must be >= 0, got ", label);
    num_classes = std::max(num_classes, label + 1);
  }
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(num_classes));
  for (std::int64_t i = 0; i < n; ++i) members[labels[i]].push_back(i);

  // Largest-remainder apportionment: floor every class's exact share, then hand the seats
  // left over to the largest fractional parts (ties to the smaller class id), so the total is
  // exactly n_test and no class is off by more than one from its proportional share.
  std::vector<std::int64_t> take(members.size());
  std::vector<std::pair<double, std::int64_t>> remainders;
  std::int64_t assigned = 0;
  for (std::size_t c = 0; c < members.size(); ++c) {
    const double share = static_cast<double>(n_test) * static_cast<double>(members[c].size()) / static_cast<double>(n);
    take[c] = static_cast<std::int64_t>(std::floor(share));
    assigned += take[c];
    remainders.push_back({share - static_cast<double>(take[c]), static_cast<std::int64_t>(c)});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; assigned < n_test && k < remainders.size(); ++k) {
    const auto c = static_cast<std::size_t>(remainders[k].second);
    if (take[c] < static_cast<std::int64_t>(members[c].size())) {
      ++take[c];
      ++assigned;
    }
  }
  for (std::size_t c = 0; c < members.size(); ++c) {
    std::vector<std::int64_t>& m = members[c];
    for (std::size_t i = m.size(); i > 1; --i)
      std::swap(m[i - 1], m[static_cast<std::size_t>(gen.integer(static_cast<std::int64_t>(i)))]);
    test.insert(test.end(), m.begin(), m.begin() + take[c]);
    train.insert(train.end(), m.begin() + take[c], m.end());
  }
  // Interleave the classes again: a split ordered by class would hand an unshuffled loader
  // one class at a time.
  auto shuffle = [&](std::vector<std::int64_t>& v) {
    const std::vector<std::int64_t> order = random_permutation(static_cast<std::int64_t>(v.size()), gen);
    std::vector<std::int64_t> shuffled(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) shuffled[i] = v[static_cast<std::size_t>(order[i])];
    v = std::move(shuffled);
  };
  shuffle(train);
  shuffle(test);
  return {dataset.subset(train), dataset.subset(test)};
}

}  // namespace ouro
