// DataLoader: batch sizes, the last partial batch, drop_last, reproducible per-epoch
// shuffling, every sample once per epoch, and resuming mid-epoch from the exported state.
#include <algorithm>
#include <limits>
#include <set>

#include "gradcheck.h"
#include "ouro/data/loader.h"

namespace ouro::testing {
namespace {

// Sample i has inputs {i, -i} and target i (so batches reveal which samples they hold).
Dataset counting(std::int64_t n) {
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(-i));
    y.push_back(i);
  }
  return Dataset{Tensor::from_vector(x, {n, 2}), Tensor::from_indices(y, {n})};
}

std::vector<std::vector<std::int64_t>> one_epoch(DataLoader& loader) {
  std::vector<std::vector<std::int64_t>> batches;
  for (const Batch& b : loader) {
    const std::vector<std::int64_t> ids = b.targets.to_index_vector();
    // Inputs and targets stay paired.
    for (std::size_t i = 0; i < ids.size(); ++i)
      EXPECT_EQ(b.inputs.at({static_cast<std::int64_t>(i), 1}), -static_cast<double>(ids[i]));
    batches.push_back(ids);
  }
  return batches;
}

TEST(DataLoader, BatchesKeepTheLastPartialOne) {
  DataLoader loader(counting(10), {.batch_size = 4});
  EXPECT_EQ(loader.num_batches(), 3);
  const auto batches = one_epoch(loader);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(batches[2], (std::vector<std::int64_t>{8, 9}));
  const Batch last = loader.batch(0, 2);
  EXPECT_EQ(last.inputs.shape(), (Shape{2, 2}));
  EXPECT_EQ(last.targets.shape(), (Shape{2}));
  EXPECT_TRUE(last.inputs.is_contiguous());
}

TEST(DataLoader, DropLastDropsThePartialBatch) {
  DataLoader loader(counting(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(loader.num_batches(), 2);
  const auto batches = one_epoch(loader);
  ASSERT_EQ(batches.size(), 2u);
  for (const auto& b : batches) EXPECT_EQ(b.size(), 4u);
  DataLoader exact(counting(8), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(exact.num_batches(), 2);
  DataLoader none(counting(3), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(none.num_batches(), 0);
  EXPECT_TRUE(one_epoch(none).empty());
  expect_error([] { DataLoader(counting(3), {.batch_size = 0}); }, {"batch_size", ">= 1", "got 0"});
}

TEST(DataLoader, ShuffleSeesEverySampleOnceAndDiffersAcrossEpochs) {
  DataLoader loader(counting(23), {.batch_size = 5, .shuffle = true, .seed = 42});
  std::vector<std::vector<std::int64_t>> orders;
  for (int epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(loader.state().epoch, epoch);
    std::vector<std::int64_t> order;
    for (const auto& b : one_epoch(loader)) order.insert(order.end(), b.begin(), b.end());
    EXPECT_EQ(loader.epoch(), epoch);
    std::vector<std::int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::int64_t i = 0; i < 23; ++i) EXPECT_EQ(sorted[i], i) << "epoch " << epoch;
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  std::vector<std::int64_t> identity(23);
  for (std::int64_t i = 0; i < 23; ++i) identity[i] = i;
  EXPECT_NE(orders[0], identity);

  // Another loader with the same seed replays the same epochs; another seed does not.
  DataLoader replay(counting(23), {.batch_size = 5, .shuffle = true, .seed = 42});
  DataLoader other(counting(23), {.batch_size = 5, .shuffle = true, .seed = 43});
  for (int epoch = 0; epoch < 3; ++epoch) EXPECT_EQ(replay.epoch_order(epoch), orders[epoch]);
  EXPECT_NE(other.epoch_order(0), orders[0]);
}

TEST(DataLoader, ResumesMidEpochFromState) {
  const DataLoaderOptions options{.batch_size = 3, .shuffle = true, .seed = 5};
  DataLoader loader(counting(10), options);
  one_epoch(loader);  // epoch 0
  std::vector<std::vector<std::int64_t>> seen;
  DataLoader::State checkpoint;
  for (const Batch& b : loader) {  // epoch 1: stop after two batches
    seen.push_back(b.targets.to_index_vector());
    checkpoint = loader.state();
    if (seen.size() == 2) break;
  }
  EXPECT_EQ(checkpoint.epoch, 1);
  EXPECT_EQ(checkpoint.batch, 2);

  DataLoader resumed(counting(10), options);
  resumed.set_state(checkpoint);
  const auto rest = one_epoch(resumed);
  ASSERT_EQ(rest.size(), 2u);
  DataLoader reference(counting(10), options);
  reference.set_epoch(1);
  const auto full = one_epoch(reference);
  EXPECT_EQ(seen[0], full[0]);
  EXPECT_EQ(seen[1], full[1]);
  EXPECT_EQ(rest[0], full[2]);
  EXPECT_EQ(rest[1], full[3]);
  // The original loader continues the same way after its early break.
  EXPECT_EQ(one_epoch(loader), rest);
  // During the last batch of an epoch the state already points at the next epoch.
  DataLoader last(counting(4), {.batch_size = 2});
  std::vector<DataLoader::State> states;
  for (const Batch& b : last) {
    (void)b;
    states.push_back(last.state());
  }
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].epoch, 0);
  EXPECT_EQ(states[0].batch, 1);
  EXPECT_EQ(states[1].epoch, 1);
  EXPECT_EQ(states[1].batch, 0);
  expect_error([&] { last.set_state({0, 3}); }, {"state batch 3", "out of range for 2 batches"});
}

TEST(DataLoader, HugeBatchSizesAndBadEpochs) {
  // ceil(n / batch_size) must not overflow: one batch holding everything.
  const DataLoader all(counting(5), {.batch_size = std::numeric_limits<std::int64_t>::max()});
  ASSERT_EQ(all.num_batches(), 1);
  EXPECT_EQ(all.batch(0, 0).inputs.size(0), 5);
  const DataLoader empty(counting(0), {.batch_size = 2});
  EXPECT_EQ(empty.num_batches(), 0);
  const DataLoader loader(counting(5), {.batch_size = 2, .shuffle = true});
  expect_error([&] { loader.batch(-1, 0); }, {"epoch must be >= 0", "-1"});
  expect_error([&] { loader.batch(0, 3); }, {"batch index 3", "3 batches"});
}

}  // namespace
}  // namespace ouro::testing
