#include "gradcheck.h"

namespace ouro::testing {
namespace {

Tensor sample_2x3x4() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = (i * 7 % 11) - 5.0 + 0.1 * i;
  return Tensor::from_vector(v, {2, 3, 4}, DType::Float64);
}

TEST(Forward, SumMeanAlongAxes) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  expect_values(sum(x), {21});
  expect_values(sum(x, {0}), {5, 7, 9});
  expect_values(sum(x, {1}), {6, 15});
  expect_values(mean(x, {-1}), {2, 5});
  Tensor k = sum(x, {1}, true);
  EXPECT_EQ(k.shape(), (Shape{2, 1}));
  EXPECT_EQ(mean(x).shape(), Shape{});
}

TEST(Forward, MaxArgmaxVar) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 9, 3, 7, 5, 6}, {2, 3});
  expect_values(max(x, {1}), {9, 7});
  expect_values(max(x, {0}), {7, 9, 6});
  expect_values(max(x), {9});
  EXPECT_EQ(argmax(x, 1).to_index_vector(), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(argmax(x, 0, true).shape(), (Shape{1, 3}));
  // var of {1,9,3}: mean 13/3, unbiased (sum sq dev)/2
  const double m0 = 13.0 / 3, v0 = ((1 - m0) * (1 - m0) + (9 - m0) * (9 - m0) + (3 - m0) * (3 - m0)) / 2;
  const double m1 = 6.0, v1 = (1.0 + 1.0 + 0.0) / 2;
  expect_values(var(x, {1}), {v0, v1});
  expect_values(var(x, {1}, false, 0), {v0 * 2 / 3, v1 * 2 / 3});
  (void)m1;
}

TEST(Forward, ReduceOverNonContiguousView) {
  Tensor x = sample_2x3x4();
  Tensor t = transpose(x, 0, 2);  // [4, 3, 2], non-contiguous
  const auto direct = sum(x, {0, 1}).to_vector();
  const auto viewed = sum(t, {1, 2}).to_vector();
  ASSERT_EQ(direct.size(), viewed.size());
  for (std::size_t i = 0; i < direct.size(); ++i) EXPECT_NEAR(direct[i], viewed[i], 1e-12);
}

TEST(GradCheck, Sum) {
  expect_gradients_match([](const auto& in) { return sum(in[0], {0, 2}); }, {random_leaf({2, 3, 4}, 21)});
  expect_gradients_match([](const auto& in) { return sum(in[0], {1}, true); }, {random_leaf({2, 3, 4}, 22)});
  expect_gradients_match([](const auto& in) { return sum(transpose(in[0], 0, 1)); }, {random_leaf({3, 4}, 23)});
}

TEST(GradCheck, Mean) {
  expect_gradients_match([](const auto& in) { return mean(in[0], {-1}); }, {random_leaf({2, 3, 4}, 24)});
  expect_gradients_match([](const auto& in) { return mean(in[0]); }, {random_leaf({5, 2}, 25)});
}

TEST(GradCheck, Max) {
  // Random values are distinct, so there are no ties (kinks) to step across.
  expect_gradients_match([](const auto& in) { return max(in[0], {1}); }, {random_leaf({3, 5}, 26)});
  expect_gradients_match([](const auto& in) { return max(in[0], {0, 2}, true); }, {random_leaf({2, 3, 4}, 27)});
  expect_gradients_match([](const auto& in) { return max(transpose(in[0], 0, 1), {0}); }, {random_leaf({4, 3}, 28)});
}

TEST(GradCheck, Var) {
  expect_gradients_match([](const auto& in) { return var(in[0], {1}); }, {random_leaf({3, 5}, 29)});
  expect_gradients_match([](const auto& in) { return var(in[0], {}, false, 0); }, {random_leaf({2, 3}, 30)});
}

TEST(Errors, ReduceDimOutOfRange) {
  Tensor x = Tensor::zeros({2, 3});
  expect_error([&] { sum(x, {2}); }, {"sum", "dimension 2", "rank 2"});
  expect_error([&] { argmax(x, -3); }, {"argmax", "-3"});
}

TEST(Determinism, SumIsIndependentOfThreadCount) {
  Generator gen(5);
  Tensor x = randn({300, 1000}, 0, 1, DType::Float32, &gen);
  const int saved = num_threads();
  set_num_threads(1);
  const auto one = sum(x, {1}).to_vector();
  const double total_one = sum(x).item();
  set_num_threads(2);
  const auto two = sum(x, {1}).to_vector();
  const double total_two = sum(x).item();
  set_num_threads(saved);
  EXPECT_EQ(one, two);
  EXPECT_EQ(total_one, total_two);
}

}  // namespace
}  // namespace ouro::testing
