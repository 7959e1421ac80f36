#include "ouro/data/lm_dataset.h"

#include <algorithm>

#include "ouro/core/error.h"

namespace ouro {
namespace {

Dataset pairs_at(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& starts, std::int64_t window) {
  const auto rows = static_cast<std::int64_t>(starts.size());
  Dataset out;
  out.inputs = Tensor::empty({rows, window}, DType::Int64);
  out.targets = Tensor::empty({rows, window}, DType::Int64);
  std::int64_t* x = out.inputs.data<std::int64_t>();
  std::int64_t* y = out.targets.data<std::int64_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto s = static_cast<std::size_t>(starts[static_cast<std::size_t>(r)]);
    std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(s), window, x + r * window);
    std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(s + 1), window, y + r * window);
  }
  return out;
}

}  // namespace

Dataset make_lm_windows(const std::vector<std::int64_t>& ids, std::int64_t window, std::int64_t stride) {
  OURO_CHECK(window >= 1, "make_lm_windows: window must be >= 1, got ", window);
  OURO_CHECK(stride >= 0, "make_lm_windows: stride must be >= 0 (0: the window), got ", stride);
  if (stride == 0) stride = window;
  const auto n = static_cast<std::int64_t>(ids.size());
  OURO_CHECK(n > window, "make_lm_windows: ", n, " tokens are too few for one window of ", window,
             " (need window + 1 for the targets)");
  // Starts s with s + window < n, counted so that a huge stride cannot overflow s.
  std::vector<std::int64_t> starts;
  const std::int64_t last = n - window - 1;
  for (std::int64_t s = 0;; s += stride) {
    starts.push_back(s);
    if (last - s < stride) break;
  }
  return pairs_at(ids, starts, window);
}

Dataset make_lm_streams(const std::vector<std::int64_t>& ids, std::int64_t streams, std::int64_t window) {
  OURO_CHECK(streams >= 1, "make_lm_streams: streams must be >= 1, got ", streams);
  OURO_CHECK(window >= 1, "make_lm_streams: window must be >= 1, got ", window);
  const auto n = static_cast<std::int64_t>(ids.size());
  // (n - 1) / (streams * window) without forming the product, which can overflow.
  const std::int64_t chunks = n > 0 ? (n - 1) / window / streams : 0;
  OURO_CHECK(chunks >= 1, "make_lm_streams: ", n, " tokens are too few for ", streams, " streams of one window of ",
             window, " (need streams * window + 1)");
  const std::int64_t piece = chunks * window;
  std::vector<std::int64_t> starts;
  starts.reserve(static_cast<std::size_t>(chunks * streams));
  for (std::int64_t i = 0; i < chunks; ++i)
    for (std::int64_t b = 0; b < streams; ++b) starts.push_back(b * piece + i * window);
  return pairs_at(ids, starts, window);
}

}  // namespace ouro
