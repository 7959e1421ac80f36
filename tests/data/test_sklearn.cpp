// scikit-learn's data sets as Debian ships them: shapes, dtypes and per-class counts.
#include <filesystem>
#include <map>

#include "gradcheck.h"
#include "ouro/data/csv.h"
#include "ouro/data/sklearn.h"

namespace ouro::testing {
namespace {

// Skips (with the reason) when python3-sklearn's file is absent; scripts/setup.sh installs it.
#define SKIP_WITHOUT_SKLEARN_FILE(name)                                                          \
  do {                                                                                           \
    try {                                                                                        \
      sklearn_data_file(name);                                                                   \
    } catch (const Error& e) {                                                                   \
      GTEST_SKIP() << e.what();                                                                  \
    }                                                                                            \
  } while (0)

std::map<std::int64_t, int> class_counts(const Dataset& d) {
  std::map<std::int64_t, int> counts;
  for (auto y : d.targets.to_index_vector()) ++counts[y];
  return counts;
}

void expect_shape(const Dataset& d, std::int64_t n, std::int64_t features) {
  EXPECT_EQ(d.inputs.shape(), (Shape{n, features}));
  EXPECT_EQ(d.inputs.dtype(), DType::Float32);
  EXPECT_EQ(d.targets.shape(), (Shape{n}));
  EXPECT_EQ(d.targets.dtype(), DType::Int64);
}

TEST(Sklearn, Iris) {
  SKIP_WITHOUT_SKLEARN_FILE("iris.csv");
  const Dataset d = load_iris();
  expect_shape(d, 150, 4);
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, int>{{0, 50}, {1, 50}, {2, 50}}));
  expect_values(d.inputs.copy().as_strided({4}, {1}, 0), {5.1, 3.5, 1.4, 0.2}, 1e-6);
}

TEST(Sklearn, Wine) {
  SKIP_WITHOUT_SKLEARN_FILE("wine_data.csv");
  const Dataset d = load_wine();
  expect_shape(d, 178, 13);
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, int>{{0, 59}, {1, 71}, {2, 48}}));
}

TEST(Sklearn, BreastCancer) {
  SKIP_WITHOUT_SKLEARN_FILE("breast_cancer.csv");
  const Dataset d = load_breast_cancer();
  expect_shape(d, 569, 30);
  EXPECT_EQ(class_counts(d), (std::map<std::int64_t, int>{{0, 212}, {1, 357}}));
}

TEST(Sklearn, Digits) {
  SKIP_WITHOUT_SKLEARN_FILE("digits.csv.gz");
  const Dataset d = load_digits();
  expect_shape(d, 1797, 64);
  const auto counts = class_counts(d);
  ASSERT_EQ(counts.size(), 10u);
  int total = 0;
  for (const auto& [label, count] : counts) {
    EXPECT_GE(count, 170) << "class " << label;
    total += count;
  }
  EXPECT_EQ(total, 1797);
  const std::vector<float> pixels = d.inputs.to_float_vector();
  EXPECT_EQ(*std::min_element(pixels.begin(), pixels.end()), 0.f);
  EXPECT_EQ(*std::max_element(pixels.begin(), pixels.end()), 16.f);
}

TEST(Errors, SklearnMissingFileSaysWhatToInstall) {
  const char* saved = std::getenv("OURO_SKLEARN_DATA");
  const std::string previous = saved ? saved : "";
  setenv("OURO_SKLEARN_DATA", "/nonexistent/sklearn-data", 1);
  expect_error([] { load_iris(); }, {"/nonexistent/sklearn-data/iris.csv", "install Debian's python3-sklearn"});
  if (saved) setenv("OURO_SKLEARN_DATA", previous.c_str(), 1); else unsetenv("OURO_SKLEARN_DATA");
}

}  // namespace
}  // namespace ouro::testing
