// Fuzzes the CSV readers (fields, quotes, header lines, column choice by index or name, class
// ids and floats). The first two bytes choose the options, the rest is the file's text.
#include <string>

#include "fuzz_input.h"
#include "ouro/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  if (size < 2) return 0;
  const unsigned a = data[0], b = data[1];
  const std::string_view text = fuzz::as_text(data + 2, size - 2);

  static constexpr char kDelimiters[] = {',', ';', '\t', ' ', '|', '"', '\n', 'x'};
  CsvOptions options;
  options.header = CsvHeader(static_cast<std::int64_t>(a & 3) - ((a & 0x80) ? 4 : 0));  // occasionally negative
  options.delimiter = kDelimiters[(a >> 2) & 7];
  options.label = (a & 0x20) ? CsvLabel::Float : CsvLabel::ClassId;
  const int label_index = static_cast<int>(b & 7) - 4;
  switch ((b >> 3) & 3) {
    case 0: options.label_column = CsvColumn(label_index); break;
    case 1: options.label_column = std::nullopt; break;
    case 2: options.label_column = CsvColumn("label"); break;
    default: options.label_column = CsvColumn(std::string("y")); break;
  }
  if (b & 0x20) options.feature_columns = {CsvColumn(0), CsvColumn(label_index + 1)};
  if (b & 0x40) options.feature_columns.push_back(CsvColumn("x"));

  fuzz::expect_error_or_success([&] {
    const Dataset d = parse_csv(text, "fuzz.csv", options);
    if (!d.inputs.defined() || d.inputs.dim() != 2) fuzz::property_failed("parse_csv inputs are not [N, features]");
    if (options.label_column && (!d.targets.defined() || d.targets.size(0) != d.inputs.size(0)))
      fuzz::property_failed("parse_csv targets do not match the inputs' rows");
  });
  fuzz::expect_error_or_success([&] {
    const CsvTable table = parse_numeric_csv(text, "fuzz.csv", a & 3);
    for (const auto& row : table.rows)
      if (row.size() != table.columns()) fuzz::property_failed("parse_numeric_csv returned a ragged table");
  });
  return 0;
}
