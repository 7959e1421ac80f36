// Picking the next token from a model's logits: temperature, top-k and top-p (nucleus)
// sampling from a seeded Generator, and greedy decoding at temperature 0.
#pragma once
#include <cstdint>
#include <vector>

#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

struct SamplingOptions {
  double temperature = 1.0;  // >= 0; 0 means greedy (argmax, the lowest id on ties)
  std::int64_t top_k = 0;    // >= 0; keep only the k most likely tokens (0: all)
  double top_p = 1.0;        // in (0, 1]; keep the smallest most-likely set whose mass reaches p
};

// Throws ouro::Error naming the option and its allowed range when a value is out of range.
void check_sampling_options(const SamplingOptions& options);

// The distribution the next token is drawn from: softmax(logits / temperature), restricted
// to the top_k largest logits (ties broken towards the lower id), then to the smallest prefix
// of the remaining tokens by decreasing probability whose mass reaches top_p, renormalised.
// At temperature 0 it is one-hot at the argmax. Computed in double. NaN and +inf logits are
// an error; -inf logits get probability 0 (all -inf is an error). top_k larger than the
// vocabulary keeps every token (as 0 does).
std::vector<double> sampling_probabilities(const float* logits, std::int64_t count, const SamplingOptions& options);

// One draw from sampling_probabilities (one gen.uniform() per call, none at temperature 0,
// so greedy decoding leaves the generator untouched).
std::int64_t sample_token(const float* logits, std::int64_t count, const SamplingOptions& options, Generator& gen);
// The same for a float32 logits tensor of shape [V] (or [1, V]).
std::int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen);

}  // namespace ouro
