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

// Backward kernels assign an input's first gradient into an uninitialised buffer and add the
// later ones (GradientSink::buffer_to_assign). Every use must still count: an intermediate and
// the parameters used twice get exactly twice the single-use gradient (doubling is exact), and
// a second backward call adds to the leaves' gradients.
TEST(Autograd, AssignedFirstGradientsAndAddedLaterOnesSumEveryUse) {
  Tensor x = random_leaf({6, 5}, 1), w = random_leaf({4, 5}, 2), b = random_leaf({4}, 3);
  const Tensor coefficients = random_leaf({6, 4}, 4).detach();
  auto branch = [&](const Tensor& h) {  // linear, gelu (a unary backward) and mul (a product backward)
    return sum(mul(gelu(linear(h, w, b), GeluApproximation::Tanh), coefficients));
  };
  auto grads = [&] { return std::vector<std::vector<double>>{x.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector()}; };
  auto clear = [&] { x.zero_grad(); w.zero_grad(); b.zero_grad(); };
  branch(mul(x, 1.5)).backward();
  const auto once = grads();
  clear();
  const Tensor h = mul(x, 1.5);
  add(branch(h), branch(h)).backward();
  auto twice = grads();
  for (std::size_t t = 0; t < once.size(); ++t)
    for (std::size_t i = 0; i < once[t].size(); ++i) ASSERT_EQ(twice[t][i], 2 * once[t][i]) << t << "," << i;
  branch(mul(x, 1.5)).backward();  // no zero_grad: the leaves' gradients grow by one more use
  const auto thrice = grads();
  for (std::size_t t = 0; t < once.size(); ++t)
    for (std::size_t i = 0; i < once[t].size(); ++i) ASSERT_EQ(thrice[t][i], twice[t][i] + once[t][i]) << t << "," << i;
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
