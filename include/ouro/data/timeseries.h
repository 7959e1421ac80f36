// Time series: loading a series from statsmodels' bundled CSV data sets (Debian's
// python3-statsmodels: sunspots, nile, ...) or any CSV column, splitting it by time, and
// cutting it into sliding windows for one-step or multi-step forecasting.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ouro/data/csv.h"
#include "ouro/data/dataset.h"

namespace ouro {

struct TimeSeries {
  std::string name;               // the data set, or the file
  std::string time_column;        // e.g. "YEAR"
  std::string value_column;       // e.g. "SUNACTIVITY"
  std::vector<double> time;       // e.g. 1700, 1701, ...
  std::vector<double> values;     // one value per time
  std::int64_t size() const { return static_cast<std::int64_t>(values.size()); }
  // The values as a float32 column [T, 1].
  Tensor values_tensor() const;
  // The points with first <= time <= last (in order), keeping the names.
  TimeSeries between(double first, double last) const;
};

// The CSV of statsmodels data set `name` (<dir>/<name>/<name>.csv). The directories searched,
// in order: $OURO_STATSMODELS_DATA, /usr/lib/python3/dist-packages/statsmodels/datasets,
// /usr/local/lib/python3/dist-packages/statsmodels/datasets. When none holds it, the error
// names every path tried and the Debian package to install (python3-statsmodels;
// scripts/setup.sh installs it).
std::string statsmodels_data_file(const std::string& name);

// A statsmodels data set as a series: the first column is the time, the value column is the
// one named (header name, quotes stripped) or, when empty, the second column. E.g.
// load_statsmodels_series("sunspots"): YEAR 1700..2008 and SUNACTIVITY.
TimeSeries load_statsmodels_series(const std::string& name, const std::string& value_column = "");

// One numeric column of a CSV file (header line optional, as CsvOptions) as a float32 series
// [T, 1] in file order: what `ouro forecast --data CSV` reads.
Tensor read_series_csv(const std::string& path, const CsvColumn& column, CsvHeader header = true, char delimiter = ',');

// Every run of `window` consecutive rows of series [T, F] with the `horizon` rows after it:
// inputs [N, window, F], targets [N, horizon, F], N = T - window - horizon + 1 (float32).
Dataset sliding_windows(const Tensor& series, std::int64_t window, std::int64_t horizon = 1);

}  // namespace ouro
