// Seeded, reproducible random numbers: a xoshiro256** generator and the tensor factories
// that draw from it. The same seed gives the same numbers on every machine and thread count
// (draws are serial and the distributions are our own, not the standard library's).
#pragma once
#include <cstdint>

#include "ouro/tensor/tensor.h"

namespace ouro {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) { seed_with(seed); }
  void seed_with(std::uint64_t seed);
  std::uint64_t next_u64();
  double uniform();                     // [0, 1)
  double uniform(double low, double high);
  double normal();                      // standard normal (Box-Muller, spare kept)
  std::int64_t integer(std::int64_t n);  // uniform in [0, n)

  // The full state, for checkpoints (4 words of xoshiro, then the Box-Muller spare).
  struct State {
    std::uint64_t s[4];
    double spare;
    bool has_spare;
  };
  State state() const { return {{s_[0], s_[1], s_[2], s_[3]}, spare_, has_spare_}; }
  void set_state(const State& state);

 private:
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(std::uint64_t seed);

Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, DType dtype = DType::Float32,
            Generator* gen = nullptr);
Tensor randn(const Shape& shape, double mean = 0.0, double stddev = 1.0, DType dtype = DType::Float32,
             Generator* gen = nullptr);
// 1 with probability p, else 0.
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::Float32, Generator* gen = nullptr);
// Integers uniform in [0, n), as int64.
Tensor randint(const Shape& shape, std::int64_t n, Generator* gen = nullptr);

}  // namespace ouro
