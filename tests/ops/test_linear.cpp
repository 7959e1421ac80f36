#include "gradcheck.h"

namespace ouro::testing {
namespace {

TEST(Forward, LinearMatchesComposition) {
  Tensor x = random_leaf({2, 3, 4}, 91).detach();
  Tensor w = random_leaf({5, 4}, 92).detach();
  Tensor b = random_leaf({5}, 93).detach();
  const auto fused = linear(x, w, b).to_vector();
  const auto composed = add(matmul(x, transpose(w, 0, 1)), b).to_vector();
  ASSERT_EQ(fused.size(), composed.size());
  for (std::size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], composed[i], 1e-12);
  Tensor x2 = Tensor::from_vector(std::vector<double>{1, 2}, {1, 2}, DType::Float64);
  Tensor w2 = Tensor::from_vector(std::vector<double>{1, 0, 2, 3}, {2, 2}, DType::Float64);
  expect_values(linear(x2, w2, Tensor::from_vector(std::vector<double>{10, 20}, {2}, DType::Float64)), {11, 28});
  expect_values(linear(x2, w2), {1, 8});
}

TEST(GradCheck, Linear) {
  expect_gradients_match([](const auto& in) { return linear(in[0], in[1], in[2]); },
                         {random_leaf({2, 3, 4}, 94), random_leaf({5, 4}, 95), random_leaf({5}, 96)});
  expect_gradients_match([](const auto& in) { return linear(transpose(in[0], 0, 1), in[1]); },
                         {random_leaf({4, 3}, 97), random_leaf({2, 4}, 98)});
}

TEST(Errors, LinearShapes) {
  expect_error([] { linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})); }, {"linear", "[2, 3]", "5", "[4, 5]"});
  expect_error([] { linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({5})); }, {"linear", "bias", "[5]", "4"});
}

}  // namespace
}  // namespace ouro::testing
