#include <algorithm>
#include <cmath>
#include <numeric>

#include "gradcheck.h"

namespace ouro::testing {
namespace {

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double variance_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  return sq / static_cast<double>(v.size());
}

constexpr std::int64_t kSamples = 200000;

TEST(Random, SameSeedSameSequence) {
  Generator a(123), b(123), c(124);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
  Generator d(7), e(7);
  EXPECT_EQ(randn({50}, 0.0, 1.0, DType::Float64, &d).to_vector(), randn({50}, 0.0, 1.0, DType::Float64, &e).to_vector());
  EXPECT_EQ(rand({50}, 0.0, 1.0, DType::Float32, &d).to_vector(), rand({50}, 0.0, 1.0, DType::Float32, &e).to_vector());
  EXPECT_EQ(randint({50}, 10, &d).to_index_vector(), randint({50}, 10, &e).to_index_vector());
  // Reseeding restarts the sequence, and manual_seed does so for the default generator.
  Generator f(5);
  const double first = f.uniform();
  f.seed_with(5);
  EXPECT_EQ(first, f.uniform());
  manual_seed(11);
  const auto drawn = rand({20}).to_vector();
  manual_seed(11);
  EXPECT_EQ(drawn, rand({20}).to_vector());
}

TEST(Random, UniformMeanAndVariance) {
  Generator gen(1);
  const std::vector<double> v = rand({kSamples}, 0.0, 1.0, DType::Float64, &gen).to_vector();
  for (double x : v) {
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
  // Standard errors: mean 1/sqrt(12 n) ~ 6.5e-4, variance ~ 2e-4.
  EXPECT_NEAR(mean_of(v), 0.5, 0.004);
  EXPECT_NEAR(variance_of(v), 1.0 / 12.0, 0.001);
  const std::vector<double> shifted = rand({kSamples}, -3.0, 5.0, DType::Float32, &gen).to_vector();
  EXPECT_NEAR(mean_of(shifted), 1.0, 0.03);
  EXPECT_NEAR(variance_of(shifted), 64.0 / 12.0, 0.06);
}

TEST(Random, NormalMeanAndStd) {
  Generator gen(2);
  const std::vector<double> v = randn({kSamples}, 0.0, 1.0, DType::Float64, &gen).to_vector();
  EXPECT_NEAR(mean_of(v), 0.0, 0.012);  // 5 standard errors
  EXPECT_NEAR(std::sqrt(variance_of(v)), 1.0, 0.01);
  const std::vector<double> w = randn({kSamples}, 2.5, 0.3, DType::Float32, &gen).to_vector();
  EXPECT_NEAR(mean_of(w), 2.5, 0.004);
  EXPECT_NEAR(std::sqrt(variance_of(w)), 0.3, 0.003);
  // Tails: about 4.55% of a normal lies beyond 2 standard deviations.
  double beyond = 0;
  for (double x : v) beyond += std::abs(x) > 2.0;
  EXPECT_NEAR(beyond / static_cast<double>(v.size()), 0.0455, 0.003);
}

TEST(Random, BernoulliFrequency) {
  Generator gen(3);
  for (double p : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    const std::vector<double> v = bernoulli({kSamples}, p, DType::Float32, &gen).to_vector();
    for (double x : v) ASSERT_TRUE(x == 0.0 || x == 1.0);
    EXPECT_NEAR(mean_of(v), p, 0.005) << "p = " << p;
  }
  expect_error([] { bernoulli({3}, 1.5); }, {"bernoulli", "1.5"});
}

TEST(Random, RandintRangeAndUniformity) {
  Generator gen(4);
  const std::int64_t n = 10;
  const Tensor t = randint({kSamples}, n, &gen);
  EXPECT_EQ(t.dtype(), DType::Int64);
  std::vector<double> counts(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t x : t.to_index_vector()) {
    ASSERT_GE(x, 0);
    ASSERT_LT(x, n);
    counts[static_cast<std::size_t>(x)] += 1;
  }
  // Chi-square with 9 degrees of freedom: the 99.9th percentile is 27.9.
  const double expected = static_cast<double>(kSamples) / static_cast<double>(n);
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 27.9);
  // A range that does not divide 2^64 still reaches its last value.
  const std::vector<std::int64_t> odd = randint({1000}, 3, &gen).to_index_vector();
  EXPECT_NE(std::find(odd.begin(), odd.end(), 2), odd.end());
  expect_error([] { randint({3}, 0); }, {"range must be positive", "0"});
}

TEST(Random, StateSaveRestoreReplays) {
  Generator gen(5);
  gen.normal();  // leaves a Box-Muller spare in the state
  const Generator::State saved = gen.state();
  EXPECT_TRUE(saved.has_spare);
  const std::vector<double> first = randn({33}, 0.0, 1.0, DType::Float64, &gen).to_vector();
  const std::vector<double> first_u = rand({17}, 0.0, 1.0, DType::Float64, &gen).to_vector();
  gen.set_state(saved);
  EXPECT_EQ(first, randn({33}, 0.0, 1.0, DType::Float64, &gen).to_vector());
  EXPECT_EQ(first_u, rand({17}, 0.0, 1.0, DType::Float64, &gen).to_vector());
  // The state moves to another generator too.
  Generator other(999);
  other.set_state(saved);
  EXPECT_EQ(first, randn({33}, 0.0, 1.0, DType::Float64, &other).to_vector());
}

TEST(Random, BadBoundsAreErrors) {
  Generator gen(1);
  expect_error([&] { rand({3}, 1, 0, DType::Float32, &gen); }, {"rand", "low <= high", "[1, 0)"});
  expect_error([&] { rand({3}, 0, INFINITY, DType::Float32, &gen); }, {"rand", "finite"});
  expect_error([&] { randn({3}, 0, -1, DType::Float32, &gen); }, {"randn", "stddev >= 0", "-1"});
  expect_error([&] { randn({3}, NAN, 1, DType::Float32, &gen); }, {"randn", "finite mean"});
  EXPECT_EQ(rand({2}, 3, 3, DType::Float64, &gen).to_vector(), std::vector<double>({3, 3}));  // low == high
}

}  // namespace
}  // namespace ouro::testing
