#include "gradcheck.h"

namespace ouro::testing {
namespace {

TEST(Forward, AddBroadcast) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<double>{10, 20, 30}, {3});
  expect_values(a + b, {11, 22, 33, 14, 25, 36});
  Tensor c = Tensor::from_vector(std::vector<double>{100, 200}, {2, 1});
  expect_values(a + c, {101, 102, 103, 204, 205, 206});
}

TEST(Forward, SubMulDivNegPow) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<double>{2, 4, 6, 8}, {2, 2});
  expect_values(a - b, {-1, -2, -3, -4});
  expect_values(a * b, {2, 8, 18, 32});
  expect_values(b / a, {2, 2, 2, 2});
  expect_values(-a, {-1, -2, -3, -4});
  expect_values(pow(a, 2.0), {1, 4, 9, 16});
  expect_values(pow(b, a), {2, 16, 216, 4096});
  expect_values(1.0 / b, {0.5, 0.25, 1.0 / 6, 0.125});
  expect_values(3.0 - a, {2, 1, 0, -1});
}

TEST(GradCheck, Add) {
  expect_gradients_match([](const auto& in) { return add(in[0], in[1]); },
                         {random_leaf({2, 3, 4}, 1), random_leaf({3, 1}, 2)});
}

TEST(GradCheck, Sub) {
  expect_gradients_match([](const auto& in) { return sub(in[0], in[1]); },
                         {random_leaf({4}, 3), random_leaf({2, 3, 4}, 4)});
}

TEST(GradCheck, Mul) {
  expect_gradients_match([](const auto& in) { return mul(in[0], in[1]); },
                         {random_leaf({2, 1, 4}, 5), random_leaf({3, 1}, 6)});
}

TEST(GradCheck, MulSameTensorTwice) {
  expect_gradients_match([](const auto& in) { return mul(in[0], in[0]); }, {random_leaf({3, 2}, 7)});
}

TEST(GradCheck, Div) {
  expect_gradients_match([](const auto& in) { return div(in[0], in[1]); },
                         {random_leaf({2, 3}, 8), random_leaf({3}, 9, 0.5, 2.0)});
}

TEST(GradCheck, Neg) {
  expect_gradients_match([](const auto& in) { return neg(in[0]); }, {random_leaf({5}, 10)});
}

TEST(GradCheck, Pow) {
  expect_gradients_match([](const auto& in) { return pow(in[0], 3.0); }, {random_leaf({2, 3}, 11)});
  expect_gradients_match([](const auto& in) { return pow(in[0], 0.5); }, {random_leaf({2, 3}, 12, 0.5, 2.0)});
  expect_gradients_match([](const auto& in) { return pow(in[0], in[1]); },
                         {random_leaf({2, 3}, 13, 0.5, 2.0), random_leaf({3}, 14)});
}

TEST(Errors, BroadcastMismatchNamesOpAndShapes) {
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = Tensor::zeros({4});
  expect_error([&] { add(a, b); }, {"add", "[2, 3]", "[4]"});
}

TEST(Errors, DtypeMismatchNamesOpAndDtypes) {
  Tensor a = Tensor::zeros({2}, DType::Float32);
  Tensor b = Tensor::zeros({2}, DType::Float64);
  expect_error([&] { mul(a, b); }, {"mul", "float32", "float64"});
}

}  // namespace
}  // namespace ouro::testing
