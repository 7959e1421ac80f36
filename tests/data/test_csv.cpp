// CSV reading: numeric tables, column selection by index and name, gzip input, and errors
// that name the file, line, column and what was expected.
#include <zlib.h>

#include <cstdio>
#include <fstream>

#include "gradcheck.h"
#include "ouro/data/csv.h"

namespace ouro::testing {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string write_temp_gzip(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  gzFile file = gzopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  EXPECT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  EXPECT_EQ(gzclose(file), Z_OK);
  return path;
}

TEST(Csv, ReadsNumbersAfterHeader) {
  const auto path = write_temp("ok.csv", "a,b\n1,2.5\n\n-3,+4e2\r\n");
  const CsvTable t = read_numeric_csv(path, 1);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1], (std::vector<double>{-3, 400}));
}

TEST(Csv, DefaultsToAllButTheLastColumnAndClassIds) {
  const auto path = write_temp("classes.csv", "1,2,0\n3,4,2\n5,6,1\n");
  const Dataset d = read_csv(path);
  EXPECT_EQ(d.inputs.shape(), (Shape{3, 2}));
  EXPECT_EQ(d.inputs.dtype(), DType::Float32);
  expect_values(d.inputs, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(d.targets.dtype(), DType::Int64);
  EXPECT_EQ(d.targets.to_index_vector(), (std::vector<std::int64_t>{0, 2, 1}));
}

TEST(Csv, SelectsColumnsByNameAndIndexAndSkipsUnusedText) {
  const auto path = write_temp("named.tsv",
                               "# exported 2024\n"
                               "id\t\"sepal length\"\tkind\tweight\tprice\n"
                               "a\t5.1\tx\t1.5\t10\n"
                               "b\t4.9\ty\t2.5\t-20.25\n");
  CsvOptions options{.header = 2, .delimiter = '\t', .feature_columns = {"weight", 1}, .label_column = "price",
                     .label = CsvLabel::Float};
  const Dataset d = read_csv(path, options);
  EXPECT_EQ(d.inputs.shape(), (Shape{2, 2}));
  expect_values(d.inputs, {1.5, 5.1, 2.5, 4.9});
  EXPECT_EQ(d.targets.shape(), (Shape{2, 1}));
  EXPECT_EQ(d.targets.dtype(), DType::Float32);
  expect_values(d.targets, {10, -20.25});

  // A quoted name with the delimiter inside, a negative index for the label, no targets.
  const auto quoted = write_temp("quoted.csv", "\"x, first\",y\n1,2\n3,4\n");
  const Dataset q = read_csv(quoted, {.header = true, .feature_columns = {"x, first"}, .label_column = -1});
  expect_values(q.inputs, {1, 3});
  EXPECT_EQ(q.targets.to_index_vector(), (std::vector<std::int64_t>{2, 4}));
  const Dataset unlabelled = read_csv(quoted, {.header = true, .label_column = std::nullopt});
  EXPECT_EQ(unlabelled.inputs.shape(), (Shape{2, 2}));
  EXPECT_FALSE(unlabelled.targets.defined());
}

TEST(Csv, ReadsGzipByContent) {
  const std::string text = "f0,f1,label\n0.5,1,1\n2,3,0\n";
  const auto gz = write_temp_gzip("small.csv.gz", text);
  const Dataset d = read_csv(gz, {.header = true, .label_column = "label"});
  expect_values(d.inputs, {0.5, 1, 2, 3});
  EXPECT_EQ(d.targets.to_index_vector(), (std::vector<std::int64_t>{1, 0}));
  // The name does not matter: a gzip file without .gz and a plain file with it both read.
  const auto renamed = write_temp_gzip("compressed_no_suffix.csv", text);
  EXPECT_EQ(read_csv(renamed, {.header = true}).inputs.to_vector(), d.inputs.to_vector());
  const auto plain = write_temp("plain_with_suffix.csv.gz", text);
  EXPECT_EQ(read_csv(plain, {.header = true}).inputs.to_vector(), d.inputs.to_vector());
  EXPECT_EQ(read_numeric_csv(gz, 1).rows.size(), 2u);
}

TEST(Errors, CsvNamesFileLineAndField) {
  const auto bad = write_temp("bad.csv", "1,2\n3,x\n");
  expect_error([&] { read_numeric_csv(bad); }, {"bad.csv:2:2", "expected a number", "'x'"});
  const auto ragged = write_temp("ragged.csv", "1,2\n3\n");
  expect_error([&] { read_numeric_csv(ragged); }, {"ragged.csv:2", "1 fields", "expected 2"});
  expect_error([&] { read_numeric_csv("/nonexistent/file.csv"); }, {"/nonexistent/file.csv", "cannot open"});
  expect_error([&] { read_csv("/nonexistent/data.csv.gz"); }, {"/nonexistent/data.csv.gz", "does not exist"});
}

TEST(Csv, ParsesTextInMemoryLikeAFile) {
  const std::string text = "a,b,label\n1,2,0\n3,4.5,1\n";
  const auto path = write_temp("memory.csv", text);
  const Dataset from_file = read_csv(path, {.header = true});
  const Dataset in_memory = parse_csv(text, "in memory", {.header = true});
  EXPECT_EQ(in_memory.inputs.shape(), from_file.inputs.shape());
  EXPECT_EQ(in_memory.inputs.to_vector(), from_file.inputs.to_vector());
  EXPECT_EQ(in_memory.targets.to_index_vector(), from_file.targets.to_index_vector());
  EXPECT_EQ(parse_numeric_csv(text, "in memory", 1).rows, read_numeric_csv(path, 1).rows);
  // Errors name the source given in place of a file.
  expect_error([&] { parse_csv("1,2,0\nx,4,1\n", "upload.csv"); }, {"upload.csv:2:1", "expected a number", "'x'"});
  expect_error([&] { parse_csv("1\n", "upload.csv", {.delimiter = '"'}); }, {"upload.csv", "delimiter"});
}

// Found by fuzz/csv.cpp: a one-column file whose column is the label gave a dataset with no
// inputs, built from an empty vector (memcpy from a null pointer, undefined behaviour).
TEST(Errors, CsvWithOnlyTheLabelColumnHasNoFeatures) {
  expect_error([] { parse_csv("y\n1\n2\n", "one_column.csv", {.header = true}); },
               {"one_column.csv", "no feature columns", "1 field and it is the label column -1"});
  expect_error([] { parse_csv("1\n", "one_column.csv", {.label_column = 0}); }, {"no feature columns", "column 0"});
  // Without a label the one column is the feature.
  const Dataset d = parse_csv("1\n2\n", "one_column.csv", {.label_column = std::nullopt});
  EXPECT_EQ(d.inputs.shape(), (Shape{2, 1}));
}

TEST(Errors, CsvOptionsNameTheColumn) {
  const auto path = write_temp("errors.csv", "a,b,label\n1,2,0\n3,oops,1\n4,5,1.5\n");
  expect_error([&] { read_csv(path, {.header = true}); }, {"errors.csv:3:2", "expected a number", "('b')", "'oops'"});
  expect_error([&] { read_csv(path, {.header = true, .feature_columns = {"a", "c"}}); },
               {"errors.csv", "no column named 'c'", "'a', 'b', 'label'"});
  expect_error([&] { read_csv(path, {.header = true, .feature_columns = {0}}); },
               {"errors.csv:4:3", "class id", "'1.5'"});
  expect_error([&] { read_csv(path, {.header = true, .feature_columns = {5}}); },
               {"errors.csv", "column index 5", "out of range for 3 columns"});
  expect_error([&] { read_csv(path, {.feature_columns = {"a"}}); }, {"errors.csv", "by name", "no column names"});
  expect_error([&] { read_csv(path, {.header = true, .feature_columns = {"label"}}); },
               {"errors.csv", "both a feature and the label"});
  const auto ragged = write_temp("ragged_named.csv", "a,b\n1,2\n3,4,5\n");
  expect_error([&] { read_csv(ragged, {.header = true}); }, {"ragged_named.csv:3", "3 fields", "expected 2"});
  const auto empty = write_temp("header_only.csv", "a,b\n");
  expect_error([&] { read_csv(empty, {.header = true}); }, {"header_only.csv", "no data rows"});
  const auto truncated_path = write_temp_gzip("truncated.csv.gz", std::string(5000, '1') + "\n");
  std::string bytes;
  {
    std::ifstream in(truncated_path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto cut = write_temp("cut.csv.gz", bytes.substr(0, bytes.size() / 2));
  expect_error([&] { read_csv(cut); }, {"cut.csv.gz", "gzip"});
}

}  // namespace
}  // namespace ouro::testing
