#include "ouro/data/csv.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ouro/core/error.h"

namespace ouro {

CsvTable read_numeric_csv(const std::string& path, std::size_t header_lines) {
  std::ifstream in(path);
  OURO_CHECK(in.good(), "csv ", path, ": cannot open the file");
  CsvTable table;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number <= header_lines) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> row;
    std::stringstream fields(line);
    std::string field;
    std::size_t column = 0;
    while (std::getline(fields, field, ',')) {
      ++column;
      const char* begin = field.c_str();
      char* end = nullptr;
      errno = 0;
      const double value = std::strtod(begin, &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      OURO_CHECK(end != begin && *end == '\0' && errno != ERANGE, "csv ", path, ": line ", line_number, ", column ",
                 column, ": expected a number, got '", field, "'");
      row.push_back(value);
    }
    OURO_CHECK(table.rows.empty() || row.size() == table.columns(), "csv ", path, ": line ", line_number, " has ",
               row.size(), " fields, expected ", table.columns(), " like the lines before it");
    table.rows.push_back(std::move(row));
  }
  return table;
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
