#include "ouro/data/timeseries.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "ouro/core/error.h"

namespace ouro {
namespace {

std::vector<std::string> header_names(const std::string& path) {
  const std::string text = read_text_file(path);
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> names;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) {
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') field = field.substr(1, field.size() - 2);
    names.push_back(field);
  }
  return names;
}

}  // namespace

Tensor TimeSeries::values_tensor() const {
  return Tensor::from_vector(values, {size(), 1}, DType::Float32);
}

TimeSeries TimeSeries::between(double first, double last) const {
  TimeSeries out{name, time_column, value_column, {}, {}};
  for (std::size_t i = 0; i < values.size(); ++i)
    if (time[i] >= first && time[i] <= last) {
      out.time.push_back(time[i]);
      out.values.push_back(values[i]);
    }
  return out;
}

std::string statsmodels_data_file(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("OURO_STATSMODELS_DATA"); env != nullptr && *env != '\0') dirs.push_back(env);
  dirs.push_back("/usr/lib/python3/dist-packages/statsmodels/datasets");
  dirs.push_back("/usr/local/lib/python3/dist-packages/statsmodels/datasets");
  std::string tried;
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/" + name + "/" + name + ".csv";
    if (std::filesystem::exists(path)) return path;
    tried += (tried.empty() ? "" : ", ") + path;
  }
  throw Error("statsmodels data set '" + name + "' not found (tried " + tried +
              "): install Debian's python3-statsmodels (scripts/setup.sh does) or set OURO_STATSMODELS_DATA");
}

TimeSeries load_statsmodels_series(const std::string& name, const std::string& value_column) {
  const std::string path = statsmodels_data_file(name);
  const std::vector<std::string> names = header_names(path);
  OURO_CHECK(names.size() >= 2, "data set ", path, ": expected a header with a time column and a value column, got ",
             names.size(), " column(s)");
  std::size_t column = 1;
  if (!value_column.empty()) {
    column = names.size();
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == value_column) column = i;
    if (column == names.size()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw Error("data set " + path + ": no column '" + value_column + "' (columns: " + list + ")");
    }
  }
  const CsvTable table = read_numeric_csv(path, 1);
  OURO_CHECK(!table.rows.empty(), "data set ", path, ": no data rows");
  OURO_CHECK(table.columns() == names.size(), "data set ", path, ": the header names ", names.size(),
             " columns, the rows hold ", table.columns());
  TimeSeries series{name, names[0], names[column], {}, {}};
  for (const auto& row : table.rows) {
    series.time.push_back(row[0]);
    series.values.push_back(row[column]);
  }
  for (std::size_t i = 1; i < series.time.size(); ++i)
    OURO_CHECK(series.time[i] > series.time[i - 1], "data set ", path, ": the time column '", names[0],
               "' must increase, but row ", i + 1, " has ", series.time[i], " after ", series.time[i - 1]);
  return series;
}

Tensor read_series_csv(const std::string& path, const CsvColumn& column, CsvHeader header, char delimiter) {
  const Dataset d = read_csv(path, CsvOptions{.header = header, .delimiter = delimiter, .feature_columns = {column},
                                              .label_column = std::nullopt});
  // A NaN (or a value past float range) would silently turn every loss and forecast after it
  // into NaN; missing values have no defined meaning for these models.
  const std::vector<double> values = d.inputs.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i)
    OURO_CHECK(std::isfinite(values[i]), "series csv ", path, ": value ", i + 1, " of the column is ", values[i],
               "; expected a finite float32 number (missing values are not supported)");
  return d.inputs;
}

Dataset sliding_windows(const Tensor& series, std::int64_t window, std::int64_t horizon) {
  OURO_CHECK(series.dim() == 2, "sliding_windows: expected a series [T, F], got ", shape_str(series.shape()));
  OURO_CHECK(window >= 1 && horizon >= 1, "sliding_windows: window and horizon must be >= 1, got window=", window,
             " horizon=", horizon);
  const std::int64_t T = series.size(0), F = series.size(1);
  const std::int64_t N = window > T || horizon > T - window ? 0 : T - window - horizon + 1;  // no overflow for huge sizes
  OURO_CHECK(N >= 1, "sliding_windows: a series of ", T, " rows is shorter than window ", window, " + horizon ",
             horizon);
  const std::vector<double> v = series.to_vector();
  std::vector<double> inputs, targets;
  for (std::int64_t n = 0; n < N; ++n) {
    inputs.insert(inputs.end(), v.begin() + n * F, v.begin() + (n + window) * F);
    targets.insert(targets.end(), v.begin() + (n + window) * F, v.begin() + (n + window + horizon) * F);
  }
  return Dataset{Tensor::from_vector(inputs, {N, window, F}), Tensor::from_vector(targets, {N, horizon, F})};
}

}  // namespace ouro
