// Language-model datasets: windows pair each token with the next one; streams continue row by
// row from one batch to the next.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <numeric>
#include <string>

#include "ouro/core/error.h"
#include "ouro/data/lm_dataset.h"
#include "ouro/data/loader.h"

namespace ouro::testing {
namespace {

std::vector<std::int64_t> iota_ids(std::int64_t n) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), 100);
  return ids;
}

TEST(LmDataset, WindowsPairEachTokenWithTheNext) {
  const Dataset d = make_lm_windows(iota_ids(10), 3);  // starts 0, 3, 6 (6 + 3 + 1 <= 10)
  ASSERT_EQ(d.inputs.shape(), (Shape{3, 3}));
  EXPECT_EQ(d.inputs.dtype(), DType::Int64);
  EXPECT_EQ(d.inputs.to_index_vector(), (std::vector<std::int64_t>{100, 101, 102, 103, 104, 105, 106, 107, 108}));
  EXPECT_EQ(d.targets.to_index_vector(), (std::vector<std::int64_t>{101, 102, 103, 104, 105, 106, 107, 108, 109}));
  const Dataset overlapping = make_lm_windows(iota_ids(6), 4, 1);
  EXPECT_EQ(overlapping.size(), 2);
  EXPECT_THROW(make_lm_windows(iota_ids(3), 3), Error);
  EXPECT_THROW(make_lm_windows(iota_ids(10), 0), Error);
}

TEST(LmDataset, StreamsContinueAcrossBatches) {
  // 2 streams, window 2: (13 - 1) / 4 = 3 chunks, pieces of 6 tokens starting at 0 and 6.
  const Dataset d = make_lm_streams(iota_ids(13), 2, 2);
  ASSERT_EQ(d.size(), 6);
  DataLoader loader(d, DataLoaderOptions{.batch_size = 2});
  std::vector<std::vector<std::int64_t>> stream(2);
  for (const Batch& b : loader) {
    const auto x = b.inputs.to_index_vector();
    const auto y = b.targets.to_index_vector();
    for (std::size_t r = 0; r < 2; ++r) {
      for (std::size_t t = 0; t < 2; ++t) {
        EXPECT_EQ(y[r * 2 + t], x[r * 2 + t] + 1);
        stream[r].push_back(x[r * 2 + t]);
      }
    }
  }
  EXPECT_EQ(stream[0], (std::vector<std::int64_t>{100, 101, 102, 103, 104, 105}));
  EXPECT_EQ(stream[1], (std::vector<std::int64_t>{106, 107, 108, 109, 110, 111}));
  EXPECT_THROW(make_lm_streams(iota_ids(4), 2, 2), Error);
}

void expect_error_with(const std::function<void()>& body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "expected ouro::Error with '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(LmDataset, HugeSizesAreErrorsWithoutOverflow) {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::vector<std::int64_t> ids = {1, 2, 3, 4, 5};
  expect_error_with([&] { make_lm_windows(ids, max); }, "too few for one window of 9223372036854775807");
  expect_error_with([&] { make_lm_windows({}, 1); }, "0 tokens are too few");
  expect_error_with([&] { make_lm_streams(ids, std::int64_t{1} << 62, 4); }, "too few for 4611686018427387904 streams");
  expect_error_with([&] { make_lm_streams(ids, 2, max); }, "too few");
  // A stride past the end gives the one first window.
  const Dataset one = make_lm_windows(ids, 2, max);
  EXPECT_EQ(one.inputs.shape(), Shape({1, 2}));
  EXPECT_EQ(make_lm_windows(ids, 2, 1).inputs.size(0), 3);
}

}  // namespace
}  // namespace ouro::testing
