#include <cmath>

#include "gradcheck.h"

namespace ouro::testing {
namespace {

TEST(Forward, ExpLogSqrtAbsClamp) {
  Tensor x = Tensor::from_vector(std::vector<double>{0.5, 1, 2, 4}, {2, 2}, DType::Float64);
  expect_values(exp(x), {std::exp(0.5), std::exp(1.0), std::exp(2.0), std::exp(4.0)});
  expect_values(log(x), {std::log(0.5), 0, std::log(2.0), std::log(4.0)});
  expect_values(sqrt(x), {std::sqrt(0.5), 1, std::sqrt(2.0), 2});
  Tensor y = Tensor::from_vector(std::vector<double>{-2, -0.5, 0, 3}, {4}, DType::Float64);
  expect_values(abs(y), {2, 0.5, 0, 3});
  expect_values(clamp(y, -1.0, 1.0), {-1, -0.5, 0, 1});
  expect_values(clamp(y, std::nullopt, 0.0), {-2, -0.5, 0, 0});
  expect_values(clamp(y, 0.0, std::nullopt), {0, 0, 0, 3});
}

TEST(Forward, UnaryOnNonContiguousView) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, DType::Float64);
  expect_values(exp(transpose(x, 0, 1)), {std::exp(1.0), std::exp(4.0), std::exp(2.0), std::exp(5.0), std::exp(3.0),
                                          std::exp(6.0)});
}

TEST(GradCheck, Exp) {
  expect_gradients_match([](const auto& in) { return exp(transpose(in[0], 0, 1)); }, {random_leaf({2, 3}, 81)});
}

TEST(GradCheck, Log) {
  expect_gradients_match([](const auto& in) { return log(in[0]); }, {random_leaf({2, 3}, 82, 0.2, 3.0)});
}

TEST(GradCheck, Sqrt) {
  expect_gradients_match([](const auto& in) { return sqrt(slice(in[0], 1, 0, 4, 2)); },
                         {random_leaf({3, 4}, 83, 0.2, 3.0)});
}

TEST(GradCheck, Abs) {
  // Values kept away from the kink at 0.
  Tensor x = Tensor::from_vector(std::vector<double>{-2, -0.5, 0.3, 1.5, -0.7, 2.2}, {2, 3}, DType::Float64);
  x.set_requires_grad();
  expect_gradients_match([](const auto& in) { return abs(in[0]); }, {x});
}

TEST(GradCheck, Clamp) {
  Tensor x = Tensor::from_vector(std::vector<double>{-2, -0.5, 0.3, 1.5, -0.7, 2.2}, {2, 3}, DType::Float64);
  x.set_requires_grad();
  expect_gradients_match([](const auto& in) { return clamp(in[0], -1.0, 1.0); }, {x});
  expect_gradients_match([](const auto& in) { return clamp(in[0], std::nullopt, 0.0); }, {x});
}

TEST(GradCheck, Contiguous) {
  expect_gradients_match([](const auto& in) { return contiguous(transpose(in[0], 0, 1)); }, {random_leaf({2, 3}, 84)});
}

TEST(GradCheck, SqueezeUnsqueeze) {
  expect_gradients_match([](const auto& in) { return squeeze(unsqueeze(in[0], 1), 1); }, {random_leaf({2, 3}, 85)});
}

TEST(Errors, ClampBoundsReversed) {
  expect_error([&] { clamp(Tensor::zeros({2}), 1.0, -1.0); }, {"clamp", "min 1", "max -1"});
}

TEST(Errors, UnaryOnIndexTensor) {
  expect_error([&] { exp(Tensor::from_indices({1, 2}, {2})); }, {"exp", "floating", "int64"});
}

}  // namespace
}  // namespace ouro::testing
