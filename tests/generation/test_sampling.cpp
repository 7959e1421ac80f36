// Sampling: exact distributions for temperature / top-k / top-p, empirical frequencies from a
// fixed seed against them, greedy at temperature 0, and errors for bad options.
#include <gtest/gtest.h>

#include <cmath>

#include "ouro/core/error.h"
#include "ouro/generation/sampling.h"

namespace ouro::testing {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 0.5f, 3.0f, -2.0f};

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  std::vector<double> p;
  double total = 0;
  for (float l : logits) total += std::exp(l / temperature);
  for (float l : logits) p.push_back(std::exp(l / temperature) / total);
  return p;
}

TEST(Sampling, TemperatureScalesTheSoftmax) {
  for (double t : {0.5, 1.0, 2.0}) {
    const auto p = sampling_probabilities(kLogits.data(), 5, SamplingOptions{.temperature = t});
    const auto expected = softmax(kLogits, t);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(p[i], expected[i], 1e-12) << "t=" << t << " i=" << i;
  }
}

TEST(Sampling, TopKKeepsTheKLargestTiesTowardsLowerIds) {
  const auto p = sampling_probabilities(kLogits.data(), 5, SamplingOptions{.top_k = 1});
  EXPECT_EQ(p, (std::vector<double>{0, 1, 0, 0, 0}));  // ids 1 and 3 tie: 1 wins
  const auto p3 = sampling_probabilities(kLogits.data(), 5, SamplingOptions{.top_k = 3});
  const double z = std::exp(1.0) + 2 * std::exp(3.0);
  EXPECT_NEAR(p3[0], std::exp(1.0) / z, 1e-12);
  EXPECT_NEAR(p3[1], std::exp(3.0) / z, 1e-12);
  EXPECT_EQ(p3[2], 0.0);
  EXPECT_EQ(p3[4], 0.0);
  Generator gen(3);
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t id = sample_token(kLogits.data(), 5, SamplingOptions{.temperature = 5.0, .top_k = 2}, gen);
    ASSERT_TRUE(id == 1 || id == 3) << "top-2 picked id " << id;
  }
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingP) {
  const auto full = softmax(kLogits, 1.0);  // ~[0.059, 0.437, 0.036, 0.437, 0.002]
  // 0.5 needs both 3.0s; 0.9 needs id 0 too; 0.95 then id 2.
  auto p = sampling_probabilities(kLogits.data(), 5, SamplingOptions{.top_p = 0.5});
  EXPECT_NEAR(p[1], 0.5, 1e-12);
  EXPECT_NEAR(p[3], 0.5, 1e-12);
  p = sampling_probabilities(kLogits.data(), 5, SamplingOptions{.top_p = 0.9});
  const double kept = full[0] + full[1] + full[3];
  EXPECT_NEAR(p[0], full[0] / kept, 1e-12);
  EXPECT_EQ(p[2], 0.0);
  EXPECT_EQ(p[4], 0.0);
}

TEST(Sampling, FrequenciesFollowTheDistribution) {
  Generator gen(42);
  const SamplingOptions options{.temperature = 1.5, .top_k = 4};
  const auto p = sampling_probabilities(kLogits.data(), 5, options);
  const int draws = 40000;
  std::vector<int> hits(5, 0);
  for (int i = 0; i < draws; ++i) ++hits[static_cast<std::size_t>(sample_token(kLogits.data(), 5, options, gen))];
  EXPECT_EQ(hits[4], 0);
  for (std::size_t i = 0; i < 5; ++i) {
    // Five standard errors of a binomial proportion: a fixed seed makes this a fixed outcome,
    // the bound says it is an ordinary one.
    const double se = std::sqrt(p[i] * (1 - p[i]) / draws);
    EXPECT_NEAR(hits[i] / static_cast<double>(draws), p[i], 5 * se + 1e-12) << "id " << i;
  }
  // Same seed, same draws.
  Generator a(9), b(9);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sample_token(kLogits.data(), 5, options, a), sample_token(kLogits.data(), 5, options, b));
}

TEST(Sampling, TemperatureZeroIsArgmaxAndDrawsNothing) {
  Generator gen(1);
  const auto before = gen.state();
  EXPECT_EQ(sample_token(kLogits.data(), 5, SamplingOptions{.temperature = 0, .top_k = 3, .top_p = 0.2}, gen), 1);
  const auto after = gen.state();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(before.s[i], after.s[i]);
  const Tensor logits = Tensor::from_vector(std::vector<float>{0.f, -1.f, 7.f}, {1, 3});
  EXPECT_EQ(sample_token(logits, SamplingOptions{.temperature = 0}, gen), 2);
}

TEST(Sampling, BadValuesAreErrors) {
  Generator gen(0);
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.temperature = -1}, gen), Error);
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.temperature = NAN}, gen), Error);
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.top_k = -2}, gen), Error);
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.top_p = 0}, gen), Error);
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.top_p = 1.5}, gen), Error);
  EXPECT_THROW(sample_token(kLogits.data(), 0, SamplingOptions{}, gen), Error);
  const std::vector<float> with_nan = {1.f, NAN};
  EXPECT_THROW(sample_token(with_nan.data(), 2, SamplingOptions{}, gen), Error);
  EXPECT_THROW(sample_token(Tensor::zeros({2, 3}), SamplingOptions{}, gen), Error);
}

TEST(Sampling, ExtremeButValidOptionsStayFinite) {
  Generator gen(0);
  // top_k past the vocabulary keeps every token, as top_k = 0 does.
  const std::vector<double> all = sampling_probabilities(kLogits.data(), 5, SamplingOptions{});
  EXPECT_EQ(sampling_probabilities(kLogits.data(), 5, SamplingOptions{.top_k = 1000}), all);
  // A temperature so small that logit / T alone overflows: the mass goes to the tied maxima
  // (ids 1 and 3), never NaN.
  const std::vector<float> large = {100.f, 300.f, 50.f, 300.f, -200.f};
  const std::vector<double> cold = sampling_probabilities(large.data(), 5, SamplingOptions{.temperature = 1e-306});
  EXPECT_EQ(cold, std::vector<double>({0, 0.5, 0, 0.5, 0}));
  // A huge temperature is nearly uniform.
  for (double p : sampling_probabilities(kLogits.data(), 5, SamplingOptions{.temperature = 1e300}))
    EXPECT_NEAR(p, 0.2, 1e-12);
  // +inf logits (a diverged model) are an error like NaN, not a NaN distribution.
  const std::vector<float> with_inf = {1.f, INFINITY};
  try {
    sample_token(with_inf.data(), 2, SamplingOptions{}, gen);
    ADD_FAILURE() << "+inf logit accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("logit 1 is +inf"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sample_token(kLogits.data(), 5, SamplingOptions{.temperature = INFINITY}, gen), Error);
}

}  // namespace
}  // namespace ouro::testing
