// Numeric CSV reading: the tabular data sets ouro trains on (e.g. scikit-learn's iris.csv).
#pragma once
#include <string>
#include <vector>

namespace ouro {

struct CsvTable {
  std::vector<std::vector<double>> rows;  // every row has the same number of columns
  std::size_t columns() const { return rows.empty() ? 0 : rows.front().size(); }
};

// Reads comma-separated numbers, skipping the first `header_lines` lines and blank lines.
// A missing file, a non-numeric field or a ragged row throws ouro::Error naming the file,
// the line and the field.
CsvTable read_numeric_csv(const std::string& path, std::size_t header_lines = 0);

// The scikit-learn data directory shipped by Debian's python3-sklearn, or an error saying
// which package to install. OURO_SKLEARN_DATA overrides it.
std::string sklearn_data_file(const std::string& name);

}  // namespace ouro
