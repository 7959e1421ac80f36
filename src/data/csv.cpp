#include "ouro/data/csv.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "ouro/core/error.h"

namespace ouro {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits one line into trimmed fields. A field that starts with '"' runs to the matching
// quote and may hold the delimiter; "" inside it is a literal quote (RFC 4180, minus line
// breaks inside quotes, which no numeric table needs).
void split_fields(std::string_view line, char delimiter, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t') && line[i] != delimiter) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      const std::size_t end = line.find(delimiter, i);
      i = end == std::string_view::npos ? line.size() : end;
    } else {
      const std::size_t end = line.find(delimiter, i);
      const std::size_t stop = end == std::string_view::npos ? line.size() : end;
      field = std::string(trim(line.substr(i, stop - i)));
      i = stop;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the delimiter
  }
}

// from_chars is locale-independent (strtod follows LC_NUMERIC); it rejects a leading '+',
// which CSV writers do emit, so that is skipped first.
bool parse_number(std::string_view text, double& value) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// Calls on_header(lines_so_far) for header lines and on_row(line_number, fields) for every
// non-blank data line.
template <typename OnHeader, typename OnRow>
void for_each_line(std::string_view text, std::int64_t header_lines, char delimiter, OnHeader&& on_header,
                   OnRow&& on_row) {
  std::string_view rest(text);
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);  // UTF-8 byte-order mark
  std::vector<std::string> fields;
  std::int64_t line_number = 0;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number <= header_lines) {
      if (line_number == header_lines) {
        split_fields(line, delimiter, fields);
        on_header(fields);
      }
      continue;
    }
    if (trim(line).empty()) continue;
    split_fields(line, delimiter, fields);
    on_row(line_number, fields);
  }
}

std::string ragged_message(const std::string& path, std::int64_t line, std::size_t got, std::size_t expected) {
  return detail::concat("csv ", path, ":", line, ": line ", line, " has ", got, " fields, expected ", expected,
                        " like the lines before it");
}

// Checked before the file is read, so a bad option is reported even for a huge file.
void check_options(const std::string& path, const CsvOptions& options) {
  OURO_CHECK(options.header.lines >= 0, "csv ", path, ": header must be a number of lines >= 0, got ",
             options.header.lines);
  OURO_CHECK(options.delimiter != '"' && options.delimiter != '\n' && options.delimiter != '\r', "csv ", path,
             ": the delimiter cannot be a quote or a line break");
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  OURO_CHECK(std::filesystem::is_regular_file(path, ec), "file ", path,
             ": cannot open it (it does not exist or is not a regular file)");
  gzFile file = gzopen(path.c_str(), "rb");
  OURO_CHECK(file != nullptr, "file ", path, ": cannot open it");
  gzbuffer(file, 1 << 17);
  std::string text;
  std::vector<char> chunk(1 << 20);
  while (true) {
    const int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got < 0) {
      int code = 0;
      const std::string reason = gzerror(file, &code);
      gzclose_r(file);
      throw Error(detail::concat("file ", path, ": cannot read it as plain or gzip data (zlib: ", reason, ")"));
    }
    if (got == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  // A truncated .gz reads as a clean end of data; gzclose_r is where zlib reports it.
  const int closed = gzclose_r(file);
  OURO_CHECK(closed == Z_OK, "file ", path, ": the gzip data is truncated or corrupt (zlib error ", closed, ")");
  return text;
}

CsvTable read_numeric_csv(const std::string& path, std::size_t header_lines) {
  return parse_numeric_csv(read_text_file(path), path, header_lines);
}

CsvTable parse_numeric_csv(std::string_view text, const std::string& path, std::size_t header_lines) {
  CsvTable table;
  for_each_line(
      text, static_cast<std::int64_t>(header_lines), ',', [](const std::vector<std::string>&) {},
      [&](std::int64_t line, const std::vector<std::string>& fields) {
        OURO_CHECK(table.rows.empty() || fields.size() == table.columns(),
                   ragged_message(path, line, fields.size(), table.columns()));
        std::vector<double> row(fields.size());
        for (std::size_t c = 0; c < fields.size(); ++c)
          OURO_CHECK(parse_number(fields[c], row[c]), "csv ", path, ":", line, ":", c + 1, ": expected a number, got '", fields[c], "'");
        table.rows.push_back(std::move(row));
      });
  return table;
}

std::string CsvColumn::describe() const {
  return name_ ? "column '" + *name_ + "'" : "column " + std::to_string(index_);
}

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  check_options(path, options);
  return parse_csv(read_text_file(path), path, options);
}

Dataset parse_csv(std::string_view text, const std::string& path, const CsvOptions& options) {
  check_options(path, options);

  std::vector<std::string> names;
  bool have_header = false;
  std::size_t width = 0;                 // fields per row, fixed by the first data row
  std::vector<std::size_t> feature_at;  // 0-based field positions
  std::optional<std::size_t> label_at;
  std::vector<float> inputs;
  std::vector<float> float_labels;
  std::vector<std::int64_t> class_labels;
  std::int64_t rows = 0;

  auto resolve = [&](const CsvColumn& column, const char* role) -> std::size_t {
    if (column.by_name()) {
      OURO_CHECK(have_header, "csv ", path, ": ", role, " ", column.describe(),
                 " is given by name, but options.header is 0, so there are no column names");
      // Only here must the header line up with the rows: some files (scikit-learn's) open
      // with a metadata line of another width that is skipped as a header.
      OURO_CHECK(names.size() == width, "csv ", path, ": ", role, " ", column.describe(),
                 " is given by name, but the header has ", names.size(), " names and the rows ", width, " fields");
      for (std::size_t c = 0; c < names.size(); ++c)
        if (names[c] == column.name()) return c;
      std::string available;
      for (std::size_t c = 0; c < names.size(); ++c) available += (c ? ", '" : "'") + names[c] + "'";
      throw Error(detail::concat("csv ", path, ": no column named '", column.name(), "' (", role,
                                 "); the header has: ", available));
    }
    const std::int64_t w = static_cast<std::int64_t>(width);
    const std::int64_t index = column.index() < 0 ? column.index() + w : column.index();
    OURO_CHECK(index >= 0 && index < w, "csv ", path, ": ", role, " column index ", column.index(),
               " is out of range for ", w, " columns");
    return static_cast<std::size_t>(index);
  };
  auto column_label = [&](std::size_t c) {
    return c < names.size() && !names[c].empty() ? " ('" + names[c] + "')" : std::string();
  };

  auto setup = [&](std::size_t fields) {
    width = fields;
    if (options.label_column) label_at = resolve(*options.label_column, "label");
    if (options.feature_columns.empty()) {
      for (std::size_t c = 0; c < width; ++c)
        if (!label_at || c != *label_at) feature_at.push_back(c);
    } else {
      for (const CsvColumn& column : options.feature_columns) {
        const std::size_t c = resolve(column, "feature");
        OURO_CHECK(!label_at || c != *label_at, "csv ", path, ": ", column.describe(), column_label(c),
                   " is both a feature and the label");
        feature_at.push_back(c);
      }
    }
    // Only a one-field file whose field is the label gets here: a model needs some input.
    OURO_CHECK(!feature_at.empty(), "csv ", path, ": no feature columns: the rows have ", width,
               " field and it is the label ", options.label_column->describe());
  };

  for_each_line(
      text, options.header.lines, options.delimiter,
      [&](const std::vector<std::string>& header_fields) {
        names = header_fields;
        have_header = true;
      },
      [&](std::int64_t line, const std::vector<std::string>& fields) {
        if (rows == 0) setup(fields.size());
        OURO_CHECK(fields.size() == width, ragged_message(path, line, fields.size(), width));
        auto number = [&](std::size_t c, const char* what) {
          double value = 0;
          OURO_CHECK(parse_number(fields[c], value), "csv ", path, ":", line, ":", c + 1, ": expected ", what,
                     column_label(c), ", got '", fields[c], "'");
          return value;
        };
        for (std::size_t c : feature_at) inputs.push_back(static_cast<float>(number(c, "a number")));
        if (label_at) {
          if (options.label == CsvLabel::ClassId) {
            const double value = number(*label_at, "a class id");
            OURO_CHECK(value >= 0 && value == std::floor(value) && value < 9.007199254740992e15, "csv ", path, ":",
                       line, ":", *label_at + 1, ": expected a class id (an integer >= 0)", column_label(*label_at),
                       ", got '", fields[*label_at], "'");
            class_labels.push_back(static_cast<std::int64_t>(value));
          } else {
            float_labels.push_back(static_cast<float>(number(*label_at, "a number")));
          }
        }
        ++rows;
      });
  OURO_CHECK(rows > 0, "csv ", path, ": no data rows after ", options.header.lines, " header line(s)");

  Dataset dataset;
  dataset.inputs = Tensor::from_vector(inputs, {rows, static_cast<std::int64_t>(feature_at.size())});
  if (label_at) {
    dataset.targets = options.label == CsvLabel::ClassId ? Tensor::from_indices(class_labels, {rows})
                                                         : Tensor::from_vector(float_labels, {rows, 1});
  }
  return dataset;
}

std::string sklearn_data_file(const std::string& name) {
  std::string dir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";
  if (const char* env = std::getenv("OURO_SKLEARN_DATA"); env != nullptr && *env != '\0') dir = env;
  const std::string path = dir + "/" + name;
  OURO_CHECK(std::filesystem::exists(path), "data set ", path,
             " not found: install Debian's python3-sklearn (scripts/setup.sh does) or set OURO_SKLEARN_DATA");
  return path;
}

}  // namespace ouro
