// Dataset: input and target tensors that pair up sample by sample along dim 0, with index
// subsets, seeded permutations and a (stratified) train/test split.
#pragma once
#include <cstdint>
#include <vector>

#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

struct Dataset {
  Tensor inputs;   // float32 [N, ...]
  Tensor targets;  // float32 [N, ...], int64 [N] class ids, or undefined (unlabelled data)

  // N, the number of samples (inputs' first dimension).
  std::int64_t size() const;
  // The samples at `indices`, in that order, as contiguous copies (repeats allowed). An
  // index outside [0, N) throws ouro::Error naming it.
  Dataset subset(const std::vector<std::int64_t>& indices) const;
  // 1 + the largest class id (targets must be int64 [N]).
  std::int64_t num_classes() const;
  // Throws ouro::Error unless inputs is defined with rank >= 1 and targets, when defined,
  // has the same first dimension. `who` names the caller in the message.
  void check(const char* who) const;
};

// The rows of t along dim 0 at `indices`, as a contiguous copy (any dtype). No graph is
// recorded: data preparation sits below autograd.
Tensor select_rows(const Tensor& t, const std::vector<std::int64_t>& indices);

// A uniformly random permutation of 0..n-1 (Fisher-Yates with gen.integer), reproducible
// from the generator's state.
std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen);

struct TrainTestSplit {
  Dataset train;
  Dataset test;
};

// Splits a seeded random round(test_fraction * N) samples off as the test set; both parts
// come out shuffled. With `stratified`, targets must be int64 class ids and every class
// contributes to the test set in proportion to its count (per-class counts rounded by the
// largest-remainder rule so that they add up to the overall test size), as scikit-learn's
// train_test_split(stratify=y) does. Both parts must come out non-empty.
TrainTestSplit train_test_split(const Dataset& dataset, double test_fraction, std::uint64_t seed,
                                bool stratified = false);

}  // namespace ouro
