#include <limits>

#include "gradcheck.h"

namespace ouro::testing {
namespace {

Tensor iota(const Shape& shape) {
  return Tensor::arange(shape_numel(shape), DType::Float64).as_strided(shape, contiguous_strides(shape), 0);
}

TEST(Forward, ViewsShareStorage) {
  Tensor x = iota({2, 3});
  Tensor t = transpose(x, 0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  expect_values(t, {0, 3, 1, 4, 2, 5});
  EXPECT_EQ(t.raw_data(), x.raw_data());
  Tensor r = reshape(x, {3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r.raw_data(), x.raw_data());
  Tensor rc = reshape(t, {6});  // needs a copy
  expect_values(rc, {0, 3, 1, 4, 2, 5});
  expect_values(slice(iota({6}), 0, 1, 6, 2), {1, 3, 5});
  expect_values(slice(iota({6}), 0, -2, 100), {4, 5});
  expect_values(narrow(x, 1, 1, 2), {1, 2, 4, 5});
  Tensor e = expand(iota({3, 1}), {3, 4});
  EXPECT_EQ(e.strides()[1], 0);
  expect_values(e, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  expect_values(contiguous(t), {0, 3, 1, 4, 2, 5});
  EXPECT_TRUE(contiguous(t).is_contiguous());
  EXPECT_EQ(unsqueeze(x, 1).shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(squeeze(unsqueeze(x, -1), -1).shape(), (Shape{2, 3}));
  EXPECT_EQ(flatten(iota({2, 3, 4}), 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(permute(iota({2, 3, 4}), {2, 0, 1}).shape(), (Shape{4, 2, 3}));
}

TEST(Forward, ViewOfPermutedTensor) {
  Tensor x = iota({2, 3, 4});
  Tensor p = permute(x, {1, 0, 2});  // [3, 2, 4]; last dim still contiguous
  Tensor v = view(p, {3, 2, 2, 2});
  expect_values(v, p.to_vector());
  expect_error([&] { view(transpose(x, 1, 2), {24}); }, {"view", "without a copy"});
}

TEST(Forward, ConcatStackSplit) {
  Tensor a = iota({2, 2});
  Tensor b = add(iota({2, 1}), 10.0);
  expect_values(concat({a, b}, 1), {0, 1, 10, 2, 3, 11});
  Tensor s = stack({a, a}, 0);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
  auto pieces = split(iota({5, 2}), 2, 0);
  ASSERT_EQ(pieces.size(), 3u);
  expect_values(pieces[2], {8, 9});
  auto sized = split(iota({5}), std::vector<std::int64_t>{1, 4}, 0);
  expect_values(sized[1], {1, 2, 3, 4});
}

TEST(Forward, IndexSelectGatherScatterWhere) {
  Tensor x = iota({3, 2});
  expect_values(index_select(x, 0, Tensor::from_indices({2, 0, 2}, {3})), {4, 5, 0, 1, 4, 5});
  expect_values(index_select(x, 1, Tensor::from_indices({1}, {1})), {1, 3, 5});
  expect_values(gather(x, 1, Tensor::from_indices({1, 0, 0, 0, 1, 1}, {3, 2})), {1, 0, 2, 2, 5, 5});
  Tensor z = Tensor::zeros({2, 3}, DType::Float64);
  Tensor src = Tensor::ones({2, 3}, DType::Float64);
  expect_values(scatter_add(z, 1, Tensor::from_indices({0, 0, 2, 1, 1, 1}, {2, 3}), src), {2, 0, 1, 0, 3, 0});
  Tensor cond = Tensor::from_vector(std::vector<double>{1, 0}, {2, 1});
  expect_values(where(cond, iota({2, 2}), Tensor::scalar(-1, DType::Float64)), {0, 1, -1, -1});
  expect_values(masked_fill(iota({3}), Tensor::from_indices({0, 1, 0}, {3}), 9), {0, 9, 2});
}

TEST(GradCheck, Reshape) {
  expect_gradients_match([](const auto& in) { return reshape(in[0], {3, 4}); }, {random_leaf({2, 6}, 61)});
  expect_gradients_match([](const auto& in) { return reshape(transpose(in[0], 0, 1), {-1}); },
                         {random_leaf({2, 3}, 62)});
}

TEST(GradCheck, Permute) {
  expect_gradients_match([](const auto& in) { return permute(in[0], {2, 0, 1}); }, {random_leaf({2, 3, 4}, 63)});
}

TEST(GradCheck, Slice) {
  expect_gradients_match([](const auto& in) { return slice(in[0], 1, 1, 4, 2); }, {random_leaf({3, 5}, 64)});
  expect_gradients_match([](const auto& in) { return narrow(transpose(in[0], 0, 1), 0, 1, 2); },
                         {random_leaf({3, 4}, 65)});
}

TEST(GradCheck, Expand) {
  expect_gradients_match([](const auto& in) { return expand(in[0], {2, 3, 4}); }, {random_leaf({3, 1}, 66)});
}

TEST(GradCheck, Concat) {
  expect_gradients_match([](const auto& in) { return concat({in[0], transpose(in[1], 0, 1)}, 0); },
                         {random_leaf({2, 3}, 67), random_leaf({3, 1}, 68)});
}

TEST(GradCheck, Stack) {
  expect_gradients_match([](const auto& in) { return stack({in[0], in[1], in[0]}, 1); },
                         {random_leaf({2, 3}, 69), random_leaf({2, 3}, 70)});
}

TEST(GradCheck, Split) {
  expect_gradients_match(
      [](const auto& in) {
        auto parts = split(in[0], 2, 1);
        return mul(parts[0], parts[1]);
      },
      {random_leaf({3, 4}, 71)});
}

TEST(GradCheck, IndexSelect) {
  expect_gradients_match([](const auto& in) { return index_select(in[0], 1, Tensor::from_indices({2, 0, 2}, {3})); },
                         {random_leaf({2, 4, 3}, 72)});
}

TEST(GradCheck, Gather) {
  expect_gradients_match(
      [](const auto& in) { return gather(in[0], 1, Tensor::from_indices({3, 0, 3, 1, 1, 2}, {2, 3})); },
      {random_leaf({2, 4}, 73)});
}

TEST(GradCheck, ScatterAdd) {
  expect_gradients_match(
      [](const auto& in) { return scatter_add(in[0], 0, Tensor::from_indices({1, 0, 1, 1, 2, 0}, {2, 3}), in[1]); },
      {random_leaf({3, 3}, 74), random_leaf({2, 3}, 75)});
}

TEST(GradCheck, Where) {
  Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 0, 1, 1, 0}, {2, 3});
  expect_gradients_match([cond](const auto& in) { return where(cond, in[0], in[1]); },
                         {random_leaf({2, 3}, 76), random_leaf({3}, 77)});
}

TEST(GradCheck, MaskedFill) {
  Tensor mask = Tensor::from_indices({0, 1, 1}, {3});
  expect_gradients_match([mask](const auto& in) { return masked_fill(in[0], mask, -5.0); },
                         {random_leaf({2, 3}, 78)});
}

TEST(Errors, IndexOutOfRange) {
  Tensor x = Tensor::zeros({3, 2});
  expect_error([&] { index_select(x, 0, Tensor::from_indices({0, 3}, {2})); }, {"index_select", "index 3", "[3, 2]"});
  expect_error([&] { gather(x, 1, Tensor::from_indices({0, 2}, {1, 2})); }, {"gather", "index 2", "size 2"});
  expect_error([&] { index_select(x, 0, Tensor::zeros({2})); }, {"index_select", "int64", "float32"});
}

TEST(Errors, ShapeMismatches) {
  expect_error([&] { reshape(Tensor::zeros({2, 3}), {4, 2}); }, {"reshape", "[2, 3]", "[4, 2]"});
  expect_error([&] { concat({Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}, 1); }, {"concat", "[3, 3]", "[2, 3]"});
  expect_error([&] { expand(Tensor::zeros({2, 3}), {4, 3}); }, {"expand", "[2, 3]", "[4, 3]"});
  expect_error([&] { permute(Tensor::zeros({2, 3}), {0, 0}); }, {"permute", "twice"});
}

TEST(Errors, HugeSizesAndStepsDoNotOverflow) {
  const Tensor x = Tensor::arange(4, DType::Float64);
  const std::int64_t big = std::int64_t{1} << 40, max = std::numeric_limits<std::int64_t>::max();
  expect_error([&] { reshape(x, {-1, big, big}); }, {"reshape", "overflow 64 bits"});
  expect_error([&] { narrow(x, 0, 2, max); }, {"narrow", "length 9223372036854775807", "[4]"});
  expect_error([&] { expand(Tensor::zeros({1}), {big, big, big}); }, {"overflows 64 bits"});
  // A step beyond the size picks the first element, as Python's x[0:4:huge] does.
  const Tensor one = slice(x, 0, 0, 4, max);
  EXPECT_EQ(one.shape(), Shape({1}));
  EXPECT_EQ(one.to_vector(), std::vector<double>({0}));
  EXPECT_EQ(slice(x, 0, std::numeric_limits<std::int64_t>::min(), max, 1).shape(), Shape({4}));
  EXPECT_EQ(slice(x, 0, 3, 1, 2).shape(), Shape({0}));
}

}  // namespace
}  // namespace ouro::testing
