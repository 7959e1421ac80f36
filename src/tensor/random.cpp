#include "ouro/tensor/random.h"

#include <cmath>
#include <numbers>

namespace ouro {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

template <typename Draw>
Tensor fill_with(const Shape& shape, DType dtype, const char* op, Draw&& draw) {
  Tensor t = Tensor::empty(shape, dtype);
  const std::int64_t n = t.numel();
  dispatch_floating(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

}  // namespace

void Generator::seed_with(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& word : s_) word = splitmix64(x);
  has_spare_ = false;
  spare_ = 0;
}

std::uint64_t Generator::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::uniform(double low, double high) { return low + (high - low) * uniform(); }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

std::int64_t Generator::integer(std::int64_t n) {
  OURO_CHECK(n > 0, "Generator::integer: range must be positive, got ", n);
  // Rejection sampling removes the modulo bias.
  const std::uint64_t range = static_cast<std::uint64_t>(n);
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return static_cast<std::int64_t>(x % range);
}

void Generator::set_state(const State& state) {
  for (int i = 0; i < 4; ++i) s_[i] = state.s[i];
  spare_ = state.spare;
  has_spare_ = state.has_spare;
}

Generator& default_generator() {
  static Generator generator(0x5eed);
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().seed_with(seed); }

Tensor rand(const Shape& shape, double low, double high, DType dtype, Generator* gen) {
  OURO_CHECK(std::isfinite(low) && std::isfinite(high) && low <= high, "rand: expected finite bounds low <= high, got [",
             low, ", ", high, ")");
  Generator& g = gen ? *gen : default_generator();
  return fill_with(shape, dtype, "rand", [&] { return g.uniform(low, high); });
}

Tensor randn(const Shape& shape, double mean, double stddev, DType dtype, Generator* gen) {
  OURO_CHECK(std::isfinite(mean) && std::isfinite(stddev) && stddev >= 0,
             "randn: expected a finite mean and a finite stddev >= 0, got mean ", mean, ", stddev ", stddev);
  Generator& g = gen ? *gen : default_generator();
  return fill_with(shape, dtype, "randn", [&] { return mean + stddev * g.normal(); });
}

Tensor bernoulli(const Shape& shape, double p, DType dtype, Generator* gen) {
  OURO_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: probability must be in [0, 1], got ", p);
  Generator& g = gen ? *gen : default_generator();
  return fill_with(shape, dtype, "bernoulli", [&] { return g.uniform() < p ? 1.0 : 0.0; });
}

Tensor randint(const Shape& shape, std::int64_t n, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, DType::Int64);
  std::int64_t* p = t.data<std::int64_t>();
  for (std::int64_t i = 0, count = t.numel(); i < count; ++i) p[i] = g.integer(n);
  return t;
}

}  // namespace ouro
