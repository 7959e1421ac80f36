#include "gradcheck.h"

namespace ouro::testing {
namespace {

// weight[v][d] = 10 v + d
Tensor table(std::int64_t rows, std::int64_t dims) {
  std::vector<double> values;
  for (std::int64_t v = 0; v < rows; ++v)
    for (std::int64_t d = 0; d < dims; ++d) values.push_back(10.0 * v + d);
  return Tensor::from_vector(values, {rows, dims}, DType::Float64);
}

TEST(Forward, Embedding) {
  const Tensor w = table(4, 3);
  const Tensor y = embedding(w, Tensor::from_indices({0, 2, 3, 0}, {2, 2}));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  expect_values(y, {0, 1, 2, 20, 21, 22, 30, 31, 32, 0, 1, 2});
  // A 0-d index gives one row; a float32 table stays float32.
  const Tensor one = embedding(w.to(DType::Float32), Tensor::from_indices({1}, {}));
  EXPECT_EQ(one.shape(), (Shape{3}));
  EXPECT_EQ(one.dtype(), DType::Float32);
  expect_values(one, {10, 11, 12});
}

TEST(Forward, EmbeddingFromTransposedTable) {
  // table(3, 4) transposed is a non-contiguous [4, 3] table whose row v is column v of the original.
  const Tensor w = transpose(table(3, 4), 0, 1);
  expect_values(embedding(w, Tensor::from_indices({3, 1}, {2})), {3, 13, 23, 1, 11, 21});
}

TEST(Embedding, RepeatedIndicesSumTheirGradients) {
  Tensor w = table(5, 2);
  w.set_requires_grad(true);
  const Tensor idx = Tensor::from_indices({4, 1, 4, 4, 0}, {5});
  embedding(w, idx).backward(Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {5, 2},
                                                 DType::Float64));
  // Row 4 gets rows 0, 2 and 3 of the gradient; row 1 gets row 1; row 0 gets row 4; the others nothing.
  expect_values(w.grad(), {9, 10, 3, 4, 0, 0, 0, 0, 1 + 5 + 7, 2 + 6 + 8});
}

TEST(GradCheck, Embedding) {
  const Tensor idx = Tensor::from_indices({0, 3, 3, 1, 4, 0}, {2, 3});
  expect_gradients_match([idx](const auto& in) { return embedding(in[0], idx); }, {random_leaf({5, 3}, 50)});
  expect_gradients_match([idx](const auto& in) { return embedding(transpose(in[0], 0, 1), idx); },
                         {random_leaf({4, 5}, 51)});
}

TEST(Errors, EmbeddingIndexOutOfRangeNamesIndexAndRows) {
  const Tensor w = Tensor::zeros({4, 3});
  expect_error([&] { embedding(w, Tensor::from_indices({1, 7}, {2})); }, {"embedding", "index 7", "4", "[4, 3]"});
  expect_error([&] { embedding(w, Tensor::from_indices({-1}, {1})); }, {"embedding", "index -1", "4"});
}

TEST(Errors, EmbeddingArgumentsNameOpAndShapes) {
  expect_error([] { embedding(Tensor::zeros({4}), Tensor::from_indices({0}, {1})); }, {"embedding", "2-D", "[4]"});
  expect_error([] { embedding(Tensor::zeros({4, 2}), Tensor::zeros({2})); }, {"embedding", "int64", "float32"});
}

}  // namespace
}  // namespace ouro::testing
