// CSV reading, plain or gzip-compressed: numeric tables, and Datasets whose feature and label
// columns are chosen by index or header name (e.g. scikit-learn's iris.csv, digits.csv.gz).
#pragma once
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/data/dataset.h"

namespace ouro {

struct CsvTable {
  std::vector<std::vector<double>> rows;  // every row has the same number of columns
  std::size_t columns() const { return rows.empty() ? 0 : rows.front().size(); }
};

// Reads delimiter-separated numbers, skipping the first `header_lines` lines and blank lines.
// A missing file, a non-numeric field or a ragged row throws ouro::Error naming the file,
// the line and the column. Gzip input is recognised by its content, not its name.
CsvTable read_numeric_csv(const std::string& path, std::size_t header_lines = 0);

// Header lines before the data: `true` is one line, a number is that many lines. Column names
// are taken from the last of them.
struct CsvHeader {
  CsvHeader(bool present = false) : lines(present ? 1 : 0) {}
  CsvHeader(std::integral auto count) : lines(static_cast<std::int64_t>(count)) {}
  std::int64_t lines;
};

// A column by 0-based index (negative counts from the end: -1 is the last column) or by its
// name in the header.
class CsvColumn {
 public:
  CsvColumn(std::integral auto index) : index_(static_cast<std::int64_t>(index)) {}
  CsvColumn(const char* name) : name_(name) {}
  CsvColumn(std::string name) : name_(std::move(name)) {}
  bool by_name() const { return name_.has_value(); }
  std::int64_t index() const { return index_; }
  const std::string& name() const { return *name_; }
  std::string describe() const;  // "column 3" or "column 'petal width'"

 private:
  std::int64_t index_ = 0;
  std::optional<std::string> name_;
};

enum class CsvLabel {
  ClassId,  // an integer >= 0 per row -> int64 targets [N]
  Float,    // any number -> float32 targets [N, 1] (the shape of a one-output regression)
};

struct CsvOptions {
  CsvHeader header = false;
  char delimiter = ',';
  // The input columns, in this order; empty: every column except the label, in file order.
  std::vector<CsvColumn> feature_columns = {};
  // The target column; std::nullopt reads inputs only (targets left undefined).
  std::optional<CsvColumn> label_column = CsvColumn(-1);
  CsvLabel label = CsvLabel::ClassId;
};

// Reads a CSV (plain or gzip) into a Dataset with float32 inputs [N, features]. Columns not
// selected are not parsed, so they may hold text. Blank lines are skipped; fields may be
// double-quoted. Errors name the file and, for a bad value, path:line:column (both counted
// from 1, like an editor's), the column's header name if any, and the text found; an unknown
// column name lists the header's names.
Dataset read_csv(const std::string& path, const CsvOptions& options = {});

// The same two readers over text already in memory (decompressed); `source` names it in errors
// where the readers above name the file.
CsvTable parse_numeric_csv(std::string_view text, const std::string& source, std::size_t header_lines = 0);
Dataset parse_csv(std::string_view text, const std::string& source, const CsvOptions& options = {});

// The whole content of a file, decompressed when it is gzip (zlib recognises the magic bytes
// and passes other files through). A missing, unreadable or corrupt file throws ouro::Error
// naming it.
std::string read_text_file(const std::string& path);

// The scikit-learn data directory shipped by Debian's python3-sklearn, or an error saying
// which package to install. OURO_SKLEARN_DATA overrides it.
std::string sklearn_data_file(const std::string& name);

}  // namespace ouro
