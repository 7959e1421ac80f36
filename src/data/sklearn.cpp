#include "ouro/data/sklearn.h"

#include <cstdio>

#include "ouro/core/error.h"
#include "ouro/data/csv.h"

namespace ouro {
namespace {

// iris.csv, wine_data.csv and breast_cancer.csv open with "n_samples,n_features,class
// names...": skip it as a header, then hold the table to it so a truncated or different file
// is caught here rather than as a wrong shape somewhere in training.
Dataset load_counted(const std::string& name) {
  const std::string path = sklearn_data_file(name);
  const std::string text = read_text_file(path);
  const std::string first = text.substr(0, text.find('\n'));
  long long samples = -1, features = -1;
  OURO_CHECK(std::sscanf(first.c_str(), "%lld,%lld", &samples, &features) == 2, "data set ", path,
             ": expected a first line 'n_samples,n_features,...', got '", first, "'");
  Dataset d = read_csv(path, CsvOptions{.header = 1, .label_column = -1, .label = CsvLabel::ClassId});
  OURO_CHECK(d.inputs.size(0) == samples && d.inputs.size(1) == features, "data set ", path, ": its first line promises ",
             samples, " samples of ", features, " features, the file holds ", d.inputs.size(0), " of ",
             d.inputs.size(1));
  return d;
}

}  // namespace

Dataset load_iris() { return load_counted("iris.csv"); }
Dataset load_wine() { return load_counted("wine_data.csv"); }
Dataset load_breast_cancer() { return load_counted("breast_cancer.csv"); }

Dataset load_digits() {
  // No count line here: 64 pixel columns, then the label.
  const std::string path = sklearn_data_file("digits.csv.gz");
  Dataset d = read_csv(path, CsvOptions{.header = 0, .label_column = -1, .label = CsvLabel::ClassId});
  OURO_CHECK(d.inputs.size(1) == 64, "data set ", path, ": expected 64 pixel columns and a label, got ",
             d.inputs.size(1) + 1, " columns");
  return d;
}

}  // namespace ouro
