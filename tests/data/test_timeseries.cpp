// Time series loading (statsmodels' sunspots from Debian's python3-statsmodels), its errors,
// CSV columns as series, and sliding windows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gradcheck.h"
#include "../temp_path.h"
#include "ouro/data/timeseries.h"

namespace ouro {
namespace {

using testing::expect_error;
using testing::expect_values;

TEST(TimeSeries, LoadsSunspots) {
  const TimeSeries s = load_statsmodels_series("sunspots");
  EXPECT_EQ(s.time_column, "YEAR");
  EXPECT_EQ(s.value_column, "SUNACTIVITY");
  ASSERT_EQ(s.size(), 309);  // 1700..2008
  EXPECT_EQ(s.time.front(), 1700);
  EXPECT_EQ(s.time.back(), 2008);
  EXPECT_EQ(s.values[0], 5);
  EXPECT_EQ(s.values[1], 11);
  EXPECT_EQ(s.values[2], 16);
  const TimeSeries train = s.between(1700, 1920);
  EXPECT_EQ(train.size(), 221);
  EXPECT_EQ(train.time.back(), 1920);
  EXPECT_EQ(s.values_tensor().shape(), (Shape{309, 1}));
  EXPECT_EQ(load_statsmodels_series("sunspots", "SUNACTIVITY").values, s.values);
  expect_error([] { load_statsmodels_series("sunspots", "SPOTS"); }, {"no column 'SPOTS'", "YEAR, SUNACTIVITY"});
}

TEST(TimeSeries, MissingDataSetNamesPathsAndPackage) {
  expect_error([] { statsmodels_data_file("no_such_series"); },
               {"'no_such_series'", "/usr/lib/python3/dist-packages/statsmodels/datasets/no_such_series/no_such_series.csv",
                "python3-statsmodels", "OURO_STATSMODELS_DATA"});
}

TEST(TimeSeries, CsvColumnAndSlidingWindows) {
  const std::string path = (ouro::testing::unique_temp_path("ouro_series_test.csv")).string();
  {
    std::ofstream out(path);
    out << "t,label,value\n1,a,1.5\n2,b,2.5\n3,c,4\n4,d,8\n5,e,16\n";
  }
  const Tensor v = read_series_csv(path, "value");
  expect_values(v, {1.5, 2.5, 4, 8, 16}, 0);
  EXPECT_EQ(v.shape(), (Shape{5, 1}));
  expect_values(read_series_csv(path, 0), {1, 2, 3, 4, 5}, 0);
  const Dataset d = sliding_windows(v, 2, 2);
  ASSERT_EQ(d.inputs.shape(), (Shape{2, 2, 1}));
  ASSERT_EQ(d.targets.shape(), (Shape{2, 2, 1}));
  expect_values(d.inputs, {1.5, 2.5, 2.5, 4}, 0);
  expect_values(d.targets, {4, 8, 8, 16}, 0);
  expect_error([&] { sliding_windows(v, 4, 2); }, {"5 rows", "window 4", "horizon 2"});
  std::filesystem::remove(path);
}

TEST(TimeSeries, NonFiniteValuesAndHugeWindowsAreErrors) {
  const std::string path = testing::unique_temp_path("ouro_nan_series.csv").string();
  std::ofstream(path) << "t,v\n1,5\n2,nan\n3,1e39\n";
  expect_error([&] { read_series_csv(path, CsvColumn("v")); }, {"ouro_nan_series.csv", "value 2", "nan", "finite"});
  std::ofstream(path) << "t,v\n1,5\n2,6\n3,1e39\n";  // past float32's range: inf once stored
  expect_error([&] { read_series_csv(path, CsvColumn("v")); }, {"value 3", "inf"});
  std::filesystem::remove(path);
  const Tensor series = Tensor::zeros({5, 1});
  expect_error([&] { sliding_windows(series, std::numeric_limits<std::int64_t>::max(), 2); }, {"5 rows", "shorter"});
  expect_error([&] { sliding_windows(series, 2, std::numeric_limits<std::int64_t>::max()); }, {"5 rows", "shorter"});
}

}  // namespace
}  // namespace ouro
