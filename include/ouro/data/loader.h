// DataLoader: a Dataset in mini-batches, optionally reshuffled every epoch by a permutation
// that depends only on (seed, epoch), so a run resumed from a checkpoint sees the same batches.
#pragma once
#include <cstdint>
#include <iterator>
#include <vector>

#include "ouro/data/dataset.h"

namespace ouro {

struct Batch {
  Tensor inputs;   // contiguous copy, [B, ...]
  Tensor targets;  // contiguous copy, [B, ...]; undefined when the dataset has no targets
};

struct DataLoaderOptions {
  std::int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;  // false: the last, smaller batch is kept
  std::uint64_t seed = 0;  // with shuffle: epoch e's order is a function of (seed, e) only
};

class DataLoader {
 public:
  // Where the next batch comes from: enough, with the options, to resume mid-epoch.
  struct State {
    std::int64_t epoch = 0;
    std::int64_t batch = 0;  // index within the epoch of the next batch to yield
  };

  DataLoader(Dataset dataset, DataLoaderOptions options = {});

  const Dataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  // Batches per epoch: ceil(N / batch_size), or floor with drop_last.
  std::int64_t num_batches() const;
  std::int64_t size() const { return num_batches(); }

  // The sample order of an epoch (identity without shuffle).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;
  // Batch `index` of `epoch`, independent of the iteration state.
  Batch batch(std::int64_t epoch, std::int64_t index) const;

  // The epoch of the batches being yielded; after a complete loop it stays on that epoch
  // until the next loop begins (state() already points past it).
  std::int64_t epoch() const { return epoch_; }
  // Restarts at the first batch of `epoch`.
  void set_epoch(std::int64_t epoch) { set_state({epoch, 0}); }
  // After the last batch of an epoch the state already points at (epoch + 1, 0), so a
  // checkpoint taken inside the loop body resumes with the batch after the current one.
  State state() const;
  void set_state(const State& state);

  // `for (const Batch& b : loader)` yields the rest of the current epoch (all of it unless a
  // previous loop stopped early or set_state moved into it) and leaves the loader on the next
  // epoch. Each step advances the loader's state, so one loop at a time per loader.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    Iterator() = default;
    const Batch& operator*() const { return current_; }
    const Batch* operator->() const { return &current_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return loader_ == other.loader_; }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader);
    void load();
    DataLoader* loader_ = nullptr;  // null once the epoch is exhausted (== end())
    Batch current_;
  };
  Iterator begin();
  Iterator end() { return Iterator(); }

 private:
  const std::vector<std::int64_t>& cached_order(std::int64_t epoch) const;

  Dataset dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_ = 0;
  std::int64_t next_batch_ = 0;  // may equal num_batches(): the epoch is done, the next begin() rolls over
  mutable std::int64_t cached_epoch_ = -1;
  mutable std::vector<std::int64_t> cached_order_;
};

}  // namespace ouro
