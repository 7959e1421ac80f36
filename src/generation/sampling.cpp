#include "ouro/generation/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "ouro/core/error.h"

namespace ouro {

void check_sampling_options(const SamplingOptions& options) {
  OURO_CHECK(std::isfinite(options.temperature) && options.temperature >= 0,
             "sampling: temperature must be a finite number >= 0 (0: greedy), got ", options.temperature);
  OURO_CHECK(options.top_k >= 0, "sampling: top_k must be >= 0 (0: no limit), got ", options.top_k);
  OURO_CHECK(options.top_p > 0 && options.top_p <= 1, "sampling: top_p must lie in (0, 1], got ", options.top_p);
}

std::vector<double> sampling_probabilities(const float* logits, std::int64_t count, const SamplingOptions& options) {
  check_sampling_options(options);
  OURO_CHECK(count >= 1, "sampling: need at least one logit, got ", count);
  const auto n = static_cast<std::size_t>(count);
  std::size_t best = 0;
  for (std::size_t i = 0; i < n; ++i) {
    OURO_CHECK(!std::isnan(logits[i]), "sampling: logit ", i, " is NaN");
    OURO_CHECK(logits[i] < std::numeric_limits<float>::infinity(), "sampling: logit ", i, " is +inf");
    if (logits[i] > logits[best]) best = i;
  }
  OURO_CHECK(logits[best] > -std::numeric_limits<float>::infinity(), "sampling: every logit is -inf");
  std::vector<double> p(n, 0.0);
  if (options.temperature == 0) {
    p[best] = 1;
    return p;
  }
  // Candidates by decreasing logit, ties towards the lower id: the order top-k and top-p cut.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto before = [&](std::size_t a, std::size_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::size_t keep = n;
  if (options.top_k > 0 && static_cast<std::size_t>(options.top_k) < n) {
    keep = static_cast<std::size_t>(options.top_k);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(), before);
  } else {
    std::sort(order.begin(), order.end(), before);
  }
  // The difference is taken before dividing: at a tiny temperature logit / T alone overflows
  // to inf, and inf - inf is NaN, where (logit - top) / T goes to -inf and exp to 0.
  const double top = static_cast<double>(logits[best]);
  double total = 0;
  for (std::size_t r = 0; r < keep; ++r) {
    const std::size_t i = order[r];
    const double e = std::exp((static_cast<double>(logits[i]) - top) / options.temperature);
    p[i] = e;
    total += e;
  }
  if (options.top_p < 1) {
    double mass = 0;
    std::size_t r = 0;
    // The kept prefix ends at the first token that brings the mass to top_p.
    while (r < keep) {
      mass += p[order[r]] / total;
      ++r;
      if (mass >= options.top_p) break;
    }
    for (std::size_t s = r; s < keep; ++s) p[order[s]] = 0;
    keep = r;
    total = 0;
    for (std::size_t s = 0; s < keep; ++s) total += p[order[s]];
  }
  for (double& v : p) v /= total;
  return p;
}

std::int64_t sample_token(const float* logits, std::int64_t count, const SamplingOptions& options, Generator& gen) {
  const std::vector<double> p = sampling_probabilities(logits, count, options);
  if (options.temperature == 0) return static_cast<std::int64_t>(std::max_element(p.begin(), p.end()) - p.begin());
  const double u = gen.uniform();
  double cumulative = 0;
  std::int64_t last = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    last = static_cast<std::int64_t>(i);
    cumulative += p[i];
    if (u < cumulative) return last;
  }
  return last;  // u landed in the rounding gap at the top: the last token with mass
}

std::int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen) {
  OURO_CHECK(logits.defined() && logits.dtype() == DType::Float32 &&
                 (logits.dim() == 1 || (logits.dim() == 2 && logits.size(0) == 1)),
             "sample_token: expected float32 logits of shape [V] or [1, V], got ",
             logits.defined() ? logits.describe() : std::string("an undefined tensor"));
  const Tensor flat = logits.is_contiguous() ? logits : logits.copy();
  return sample_token(flat.data<float>(), flat.numel(), options, gen);
}

}  // namespace ouro
