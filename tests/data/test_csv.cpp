#include <cstdio>
#include <fstream>

#include "gradcheck.h"
#include "ouro/data/csv.h"

namespace ouro::testing {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Csv, ReadsNumbersAfterHeader) {
  const auto path = write_temp("ok.csv", "a,b\n1,2.5\n\n-3,4e2\r\n");
  const CsvTable t = read_numeric_csv(path, 1);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1], (std::vector<double>{-3, 400}));
}

TEST(Errors, CsvNamesFileLineAndField) {
  const auto bad = write_temp("bad.csv", "1,2\n3,x\n");
  expect_error([&] { read_numeric_csv(bad); }, {"bad.csv", "line 2", "column 2", "'x'"});
  const auto ragged = write_temp("ragged.csv", "1,2\n3\n");
  expect_error([&] { read_numeric_csv(ragged); }, {"ragged.csv", "line 2", "1 fields", "expected 2"});
  expect_error([&] { read_numeric_csv("/nonexistent/file.csv"); }, {"/nonexistent/file.csv", "cannot open"});
}

}  // namespace
}  // namespace ouro::testing
