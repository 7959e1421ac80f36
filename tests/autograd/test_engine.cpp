#include "gradcheck.h"

namespace ouro::testing {
namespace {

TEST(Autograd, LeafGradientsAccumulateAcrossBackwardCalls) {
  Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}, DType::Float64).set_requires_grad();
  sum(mul(w, w)).backward();
  expect_values(w.grad(), {2, 4, 6});
  sum(mul(w, w)).backward();
  expect_values(w.grad(), {4, 8, 12});
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor w = Tensor::ones({2}).set_requires_grad();
  {
    NoGradGuard guard;
    Tensor y = mul(w, 2.0);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE(mul(w, 2.0).requires_grad());
}

TEST(Autograd, DetachStopsGradient) {
  Tensor w = Tensor::from_vector(std::vector<double>{3}, {1}, DType::Float64).set_requires_grad();
  Tensor y = mul(w, w.detach());  // d/dw = w (the detached factor is a constant)
  sum(y).backward();
  expect_values(w.grad(), {3});
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor w = Tensor::ones({2}).set_requires_grad();
  Tensor loss = sum(exp(w));
  loss.backward();
  expect_error([&] { loss.backward(); }, {"backward", "already freed"});
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  // A recurrent net unrolled over many steps makes a graph this deep.
  Tensor w = Tensor::ones({1}, DType::Float64).set_requires_grad();
  Tensor h = w;
  for (int i = 0; i < 100000; ++i) h = add(h, 0.0);
  sum(h).backward();
  expect_values(w.grad(), {1});
}

TEST(Autograd, GradientOfBroadcastAndViewReachesInputShape) {
  Tensor b = Tensor::zeros({3}, DType::Float64).set_requires_grad();
  Tensor x = Tensor::ones({4, 3}, DType::Float64);
  sum(add(x, b)).backward();
  EXPECT_EQ(b.grad().shape(), (Shape{3}));
  expect_values(b.grad(), {4, 4, 4});
}

TEST(Errors, BackwardOnTensorThatNeedsNoGrad) {
  Tensor x = Tensor::ones({2, 2});
  expect_error([&] { sum(x).backward(); }, {"backward", "does not require grad"});
  Tensor w = Tensor::ones({2, 2}).set_requires_grad();
  expect_error([&] { mul(w, 2.0).backward(); }, {"backward", "one element", "[2, 2]"});
  expect_error([&] { mul(w, 2.0).backward(Tensor::ones({3})); }, {"backward", "[3]", "[2, 2]"});
}

TEST(Errors, RequiresGradOnlyOnFloatingLeaves) {
  Tensor idx = Tensor::from_indices({1, 2}, {2});
  expect_error([&] { idx.set_requires_grad(); }, {"set_requires_grad", "int64"});
}

TEST(Determinism, SameSeedSameGradients) {
  auto run = [] {
    Generator gen(99);
    Tensor w = randn({64, 32}, 0, 1, DType::Float32, &gen).set_requires_grad();
    Tensor x = randn({128, 64}, 0, 1, DType::Float32, &gen);
    Tensor loss = mean(pow(matmul(x, w), 2.0));
    loss.backward();
    return std::make_pair(loss.item(), w.grad().to_vector());
  };
  EXPECT_EQ(run(), run());
}

TEST(Memory, SteadyStateTrainingStepDoesNotCallMalloc) {
  Generator gen(3);
  Tensor w = randn({32, 16}, 0, 0.1, DType::Float32, &gen).set_requires_grad();
  Tensor x = randn({64, 32}, 0, 1, DType::Float32, &gen);
  auto step = [&] {
    w.zero_grad();
    Tensor loss = mean(pow(sub(matmul(x, w), 1.0), 2.0));
    loss.backward();
  };
  for (int i = 0; i < 3; ++i) step();
  const auto before = memory_stats();
  for (int i = 0; i < 10; ++i) step();
  const auto after = memory_stats();
  EXPECT_EQ(after.system_allocations, before.system_allocations);
  EXPECT_GT(after.allocations, before.allocations);
  EXPECT_GE(after.peak_bytes, after.live_bytes);
}

}  // namespace
}  // namespace ouro::testing
