#include "ouro/data/loader.h"

#include <algorithm>
#include <numeric>

#include "ouro/core/error.h"

namespace ouro {

DataLoader::DataLoader(Dataset dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  dataset_.check("DataLoader");
  OURO_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got ", options_.batch_size);
}

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = dataset_.size();
  // ceil(n / batch_size) written so that a huge batch_size cannot overflow.
  return options_.drop_last ? n / options_.batch_size : n == 0 ? 0 : (n - 1) / options_.batch_size + 1;
}

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  OURO_CHECK(epoch >= 0, "DataLoader: epoch must be >= 0, got ", epoch);
  const std::int64_t n = dataset_.size();
  if (!options_.shuffle) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    return order;
  }
  // A fresh generator per epoch, seeded from (seed, epoch) through a golden-ratio step (the
  // generator's own splitmix64 seeding then decorrelates neighbouring epochs): the order of
  // epoch e never depends on how many epochs ran before, which is what makes resuming exact.
  Generator gen(options_.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(epoch + 1)));
  return random_permutation(n, gen);
}

const std::vector<std::int64_t>& DataLoader::cached_order(std::int64_t epoch) const {
  if (cached_epoch_ != epoch) {
    cached_order_ = epoch_order(epoch);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

Batch DataLoader::batch(std::int64_t epoch, std::int64_t index) const {
  // Checked here too: -1 is the "nothing cached yet" mark of cached_order.
  OURO_CHECK(epoch >= 0, "DataLoader: epoch must be >= 0, got ", epoch);
  OURO_CHECK(index >= 0 && index < num_batches(), "DataLoader: batch index ", index, " is out of range for ",
             num_batches(), " batches per epoch");
  const std::vector<std::int64_t>& order = cached_order(epoch);
  const auto begin = static_cast<std::size_t>(index * options_.batch_size);
  const std::size_t end = std::min(order.size(), begin + static_cast<std::size_t>(options_.batch_size));
  const std::vector<std::int64_t> rows(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                       order.begin() + static_cast<std::ptrdiff_t>(end));
  Batch b;
  b.inputs = select_rows(dataset_.inputs, rows);
  if (dataset_.targets.defined()) b.targets = select_rows(dataset_.targets, rows);
  return b;
}

DataLoader::State DataLoader::state() const {
  if (next_batch_ >= num_batches()) return {epoch_ + 1, 0};
  return {epoch_, next_batch_};
}

void DataLoader::set_state(const State& state) {
  OURO_CHECK(state.epoch >= 0, "DataLoader: state epoch must be >= 0, got ", state.epoch);
  OURO_CHECK(state.batch >= 0 && state.batch <= num_batches(), "DataLoader: state batch ", state.batch,
             " is out of range for ", num_batches(), " batches per epoch");
  epoch_ = state.epoch;
  next_batch_ = state.batch;
}

DataLoader::Iterator DataLoader::begin() {
  if (next_batch_ >= num_batches()) {
    const State next = state();
    epoch_ = next.epoch;
    next_batch_ = next.batch;
  }
  return Iterator(this);
}

DataLoader::Iterator::Iterator(DataLoader* loader) : loader_(loader) { load(); }

void DataLoader::Iterator::load() {
  if (loader_->next_batch_ >= loader_->num_batches()) {
    loader_ = nullptr;
    current_ = Batch{};
    return;
  }
  current_ = loader_->batch(loader_->epoch_, loader_->next_batch_);
  ++loader_->next_batch_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  load();
  return *this;
}

}  // namespace ouro
