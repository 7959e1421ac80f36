#include "gradcheck.h"

namespace ouro::testing {
namespace {

// Plain triple loop over logical indices: the oracle for the BLAS path.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b) {
  const std::int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> out(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p) out[i * n + j] += a.at({i, p}) * b.at({p, j});
  return out;
}

TEST(Forward, MatmulHandValues) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<double>{7, 8, 9, 10, 11, 12}, {3, 2});
  expect_values(matmul(a, b), {58, 64, 139, 154});
}

TEST(Forward, MatmulTransposedViewsMatchNaive) {
  Tensor a = random_leaf({5, 7}, 40).detach();
  Tensor b = random_leaf({6, 5}, 41).detach();
  Tensor at = transpose(a, 0, 1);  // [7, 5] non-contiguous
  Tensor bt = transpose(b, 0, 1);  // [5, 6]
  expect_values(matmul(at, bt), naive_matmul(at, bt), 1e-12);
  Tensor c = random_leaf({7, 6}, 42).detach();
  Tensor sliced = slice(c, 1, 0, 6, 2);  // [7, 3], column stride 2: copied before BLAS
  expect_values(matmul(a, sliced), naive_matmul(a, sliced), 1e-12);
}

TEST(Forward, MatmulVectorsAndBatches) {
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
  Tensor b = Tensor::from_vector(std::vector<double>{4, 5, 6}, {3});
  expect_values(matmul(a, b), {32});
  EXPECT_EQ(matmul(a, b).shape(), Shape{});
  Tensor batch = random_leaf({4, 2, 3}, 43).detach();
  Tensor w = random_leaf({3, 5}, 44).detach();
  Tensor out = matmul(batch, w);
  EXPECT_EQ(out.shape(), (Shape{4, 2, 5}));
  for (std::int64_t i = 0; i < 4; ++i) {
    Tensor item = squeeze(narrow(batch, 0, i, 1), 0);
    expect_values(squeeze(narrow(out, 0, i, 1), 0), naive_matmul(item, w), 1e-12);
  }
  EXPECT_EQ(matmul(random_leaf({2, 1, 3, 4}, 45), random_leaf({5, 4, 2}, 46)).shape(), (Shape{2, 5, 3, 2}));
}

TEST(GradCheck, Matmul) {
  expect_gradients_match([](const auto& in) { return matmul(in[0], in[1]); },
                         {random_leaf({3, 4}, 47), random_leaf({4, 2}, 48)});
}

TEST(GradCheck, MatmulTransposedInputs) {
  expect_gradients_match([](const auto& in) { return matmul(transpose(in[0], 0, 1), transpose(in[1], 0, 1)); },
                         {random_leaf({4, 3}, 49), random_leaf({2, 4}, 50)});
}

TEST(GradCheck, MatmulBatchedBroadcast) {
  expect_gradients_match([](const auto& in) { return matmul(in[0], in[1]); },
                         {random_leaf({2, 1, 3, 4}, 51), random_leaf({3, 4, 2}, 52)});
}

TEST(GradCheck, MatmulVector) {
  expect_gradients_match([](const auto& in) { return matmul(in[0], in[1]); },
                         {random_leaf({3, 4}, 53), random_leaf({4}, 54)});
  expect_gradients_match([](const auto& in) { return matmul(in[0], in[1]); },
                         {random_leaf({4}, 55), random_leaf({2, 4, 3}, 56)});
}

TEST(Errors, MatmulInnerDimensions) {
  Tensor a = Tensor::zeros({32, 64});
  Tensor b = Tensor::zeros({128, 10});
  expect_error([&] { matmul(a, b); }, {"matmul: inner dimensions differ: [32, 64] @ [128, 10]"});
  expect_error([&] { matmul(a, Tensor::zeros({64, 3}, DType::Float64)); }, {"matmul", "float32", "float64"});
}

}  // namespace
}  // namespace ouro::testing
