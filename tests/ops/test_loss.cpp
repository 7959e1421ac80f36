#include <cmath>
#include <string>
#include <vector>

#include "fixture.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

// ---- reference values from PyTorch (tests/fixtures/gen_loss_fixtures.py) ----

const nlohmann::json& loss_fixtures() {
  static const nlohmann::json fixtures = load_fixture("loss_fixtures.json");
  return fixtures;
}

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw Error("loss_fixtures.json: unknown reduction " + name);
}

bool has_index_target(const nlohmann::json& c) {
  return c["loss"] == "nll_loss" || (c["loss"] == "cross_entropy" && !c.contains("grad_target"));
}

Tensor optional_fixture_tensor(const nlohmann::json& c, const char* key, DType dtype) {
  return c.contains(key) ? fixture_tensor(c[key], dtype) : Tensor();
}

Tensor call_loss(const nlohmann::json& c, const Tensor& input, const Tensor& target, DType dtype) {
  const std::string loss = c["loss"];
  const Reduction reduction = parse_reduction(c["reduction"]);
  if (loss == "mse_loss") return mse_loss(input, target, reduction);
  if (loss == "l1_loss") return l1_loss(input, target, reduction);
  if (loss == "huber_loss") return huber_loss(input, target, reduction, c.value("delta", 1.0));
  if (loss == "binary_cross_entropy")
    return binary_cross_entropy(input, target, reduction, optional_fixture_tensor(c, "weight", dtype));
  if (loss == "binary_cross_entropy_with_logits")
    return binary_cross_entropy_with_logits(input, target, reduction, optional_fixture_tensor(c, "weight", dtype),
                                            optional_fixture_tensor(c, "pos_weight", dtype));
  if (loss == "cross_entropy")
    return cross_entropy(input, target, reduction, c.value("ignore_index", std::int64_t{-100}),
                         c.value("label_smoothing", 0.0));
  if (loss == "nll_loss") return nll_loss(input, target, reduction, c.value("ignore_index", std::int64_t{-100}));
  throw Error("loss_fixtures.json: unknown loss " + loss);
}

std::vector<double> fixture_values(const nlohmann::json& j) { return j.at("data").get<std::vector<double>>(); }

// Forward value and gradients of one fixture case in `dtype`, within tol * (1 + |expected|).
void check_case(const nlohmann::json& c, DType dtype, double tol) {
  SCOPED_TRACE(c["name"].get<std::string>() + " in " + dtype_name(dtype));
  Tensor input = fixture_tensor(c["input"], dtype);
  input.set_requires_grad(true);
  Tensor target = fixture_tensor(c["target"], has_index_target(c) ? DType::Int64 : dtype);
  if (c.contains("grad_target")) target.set_requires_grad(true);

  const Tensor out = call_loss(c, input, target, dtype);
  EXPECT_EQ(out.dtype(), dtype);
  EXPECT_EQ(out.shape(), c["output"]["shape"].get<Shape>());
  expect_values(out, fixture_values(c["output"]), tol);

  if (c.contains("grad_output")) out.backward(fixture_tensor(c["grad_output"], dtype));
  else out.backward();
  ASSERT_TRUE(input.grad().defined());
  expect_values(input.grad(), fixture_values(c["grad_input"]), tol);
  if (c.contains("grad_target")) {
    ASSERT_TRUE(target.grad().defined());
    expect_values(target.grad(), fixture_values(c["grad_target"]), tol);
  }
}

void check_loss_against_pytorch(const std::string& loss) {
  int cases = 0;
  for (const auto& c : loss_fixtures()["cases"]) {
    if (c["loss"] != loss) continue;
    check_case(c, DType::Float64, 1e-10);
    ++cases;
  }
  EXPECT_GT(cases, 0) << "no fixture cases for " << loss;
}

TEST(LossVsPyTorch, MseLoss) { check_loss_against_pytorch("mse_loss"); }
TEST(LossVsPyTorch, L1Loss) { check_loss_against_pytorch("l1_loss"); }
TEST(LossVsPyTorch, HuberLoss) { check_loss_against_pytorch("huber_loss"); }
TEST(LossVsPyTorch, BinaryCrossEntropy) { check_loss_against_pytorch("binary_cross_entropy"); }
TEST(LossVsPyTorch, BinaryCrossEntropyWithLogits) { check_loss_against_pytorch("binary_cross_entropy_with_logits"); }
TEST(LossVsPyTorch, CrossEntropy) { check_loss_against_pytorch("cross_entropy"); }
TEST(LossVsPyTorch, NllLoss) { check_loss_against_pytorch("nll_loss"); }

// Every case again in float32, against the float64 reference. Most agree to 1e-5; the bar is
// set by BCE at p = 0.999, whose gradient 1 / (1 - p) magnifies p's float32 rounding.
TEST(LossVsPyTorch, Float32CloseToFloat64) {
  for (const auto& c : loss_fixtures()["cases"]) check_case(c, DType::Float32, 1e-4);
}

// ---- gradient checks (float64, finite differences) ----

// A float64 leaf y = x + gap with gaps alternating in sign and cycling through `ranges`, so that
// x - y stays clear of a loss's kinks.
Tensor offset_target(const Tensor& x, std::uint64_t seed, const std::vector<std::pair<double, double>>& ranges) {
  Generator gen(seed);
  std::vector<double> values = x.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto [low, high] = ranges[(i / 2) % ranges.size()];
    values[i] += (i % 2 ? -1.0 : 1.0) * gen.uniform(low, high);
  }
  Tensor y = Tensor::from_vector(values, x.shape(), DType::Float64);
  y.set_requires_grad(true);
  return y;
}

Tensor constant(const Shape& shape, std::uint64_t seed, double low, double high) {
  Generator gen(seed);
  return rand(shape, low, high, DType::Float64, &gen);
}

TEST(GradCheck, MseLoss) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gradients_match([r](const auto& in) { return mse_loss(in[0], in[1], r); },
                           {random_leaf({3, 4}, 1), random_leaf({3, 4}, 2)});
    expect_gradients_match([r](const auto& in) { return mse_loss(in[0], in[1], r); },
                           {random_leaf({3, 4}, 3), random_leaf({4}, 4)});
  }
}

TEST(GradCheck, L1Loss) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Tensor x = random_leaf({3, 4}, 5);
    expect_gradients_match([r](const auto& in) { return l1_loss(in[0], in[1], r); },
                           {x, offset_target(x, 6, {{0.1, 1.0}})});
  }
  Tensor wide = Tensor::from_vector(std::vector<double>{2.5, -2.5, 3.0, -3.0}, {4}, DType::Float64);
  wide.set_requires_grad(true);
  expect_gradients_match([](const auto& in) { return l1_loss(in[0], in[1], Reduction::None); },
                         {random_leaf({3, 4}, 7), wide});
}

TEST(GradCheck, HuberLoss) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Tensor x = random_leaf({4, 4}, 8);  // both the quadratic and the linear region, either sign
    expect_gradients_match([r](const auto& in) { return huber_loss(in[0], in[1], r); },
                           {x, offset_target(x, 9, {{0.1, 0.8}, {1.2, 2.5}})});
  }
  Tensor x = random_leaf({3, 4}, 10);
  expect_gradients_match([](const auto& in) { return huber_loss(in[0], in[1], 0.5, Reduction::Sum); },
                         {x, offset_target(x, 11, {{0.05, 0.4}, {0.6, 1.5}})});
}

TEST(GradCheck, BinaryCrossEntropy) {
  const Tensor weight = constant({3}, 12, 0.5, 2.0);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gradients_match([r](const auto& in) { return binary_cross_entropy(in[0], in[1], r); },
                           {random_leaf({4, 3}, 13, 0.1, 0.9), random_leaf({4, 3}, 14, 0.0, 1.0)});
    expect_gradients_match([r, weight](const auto& in) { return binary_cross_entropy(in[0], in[1], r, weight); },
                           {random_leaf({4, 3}, 15, 0.1, 0.9), random_leaf({4, 3}, 16, 0.0, 1.0)});
  }
}

TEST(GradCheck, BinaryCrossEntropyWithLogits) {
  const Tensor pos_weight = constant({3}, 17, 0.5, 3.0);
  const Tensor weight = constant({4, 1}, 18, 0.5, 2.0);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gradients_match([r](const auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], r); },
                           {random_leaf({4, 3}, 19, -4.0, 4.0), random_leaf({4, 3}, 20, 0.0, 1.0)});
    expect_gradients_match(
        [r, weight, pos_weight](const auto& in) {
          return binary_cross_entropy_with_logits(in[0], in[1], r, weight, pos_weight);
        },
        {random_leaf({4, 3}, 21, -4.0, 4.0), random_leaf({4, 3}, 22, 0.0, 1.0)});
  }
}

TEST(GradCheck, CrossEntropy) {
  const Tensor targets = Tensor::from_indices({3, 0, 4, 1}, {4});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradients_match([r, targets](const auto& in) { return cross_entropy(in[0], targets, r); },
                           {random_leaf({4, 5}, 23, -3.0, 3.0)});
  // [B, T, C] logits with [B, T] targets, and the same logits used twice (gradients add up).
  const Tensor seq_targets = Tensor::from_indices({0, 2, 1, 4, 3, 2}, {2, 3});
  expect_gradients_match(
      [seq_targets](const auto& in) {
        return add(cross_entropy(in[0], seq_targets, Reduction::None), cross_entropy(in[0], seq_targets));
      },
      {random_leaf({2, 3, 5}, 24, -3.0, 3.0)});
}

TEST(GradCheck, CrossEntropyLabelSmoothing) {
  const Tensor targets = Tensor::from_indices({3, 0, 4, 1}, {4});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradients_match([r, targets](const auto& in) { return cross_entropy(in[0], targets, r, -100, 0.1); },
                           {random_leaf({4, 5}, 25, -3.0, 3.0)});
  const Tensor seq_targets = Tensor::from_indices({0, 2, 1, 4, 3, 2}, {2, 3});
  expect_gradients_match(
      [seq_targets](const auto& in) { return cross_entropy(in[0], seq_targets, Reduction::Mean, -100, 0.3); },
      {random_leaf({2, 3, 5}, 26, -3.0, 3.0)});
}

TEST(GradCheck, CrossEntropyIgnoreIndex) {
  const Tensor targets = Tensor::from_indices({3, -100, 4, 1, -100}, {5});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradients_match([r, targets](const auto& in) { return cross_entropy(in[0], targets, r); },
                           {random_leaf({5, 5}, 27, -3.0, 3.0)});
  const Tensor custom = Tensor::from_indices({3, 0, 4, 0, 2}, {5});
  expect_gradients_match([custom](const auto& in) { return cross_entropy(in[0], custom, Reduction::Mean, 0, 0.2); },
                         {random_leaf({5, 5}, 28, -3.0, 3.0)});
}

TEST(GradCheck, CrossEntropyProbabilityTargets) {
  // Targets need not sum to one: the gradient is softmax * sum(q) - q, checked with raw weights.
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradients_match([r](const auto& in) { return cross_entropy(in[0], in[1], r); },
                           {random_leaf({4, 5}, 29, -3.0, 3.0), random_leaf({4, 5}, 30, 0.0, 1.0)});
  expect_gradients_match([](const auto& in) { return cross_entropy(in[0], in[1], Reduction::Mean, -100, 0.15); },
                         {random_leaf({2, 3, 4}, 31, -3.0, 3.0), random_leaf({2, 3, 4}, 32, 0.0, 1.0)});
}

TEST(GradCheck, NllLoss) {
  const Tensor targets = Tensor::from_indices({3, -100, 4, 1}, {4});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradients_match([r, targets](const auto& in) { return nll_loss(in[0], targets, r); },
                           {random_leaf({4, 5}, 33, -3.0, 0.0)});
  const Tensor seq_targets = Tensor::from_indices({0, 2, 1, 3, 3, 2}, {2, 3});
  expect_gradients_match([seq_targets](const auto& in) { return nll_loss(in[0], seq_targets, Reduction::Sum, 3); },
                         {random_leaf({2, 3, 4}, 34, -3.0, 0.0)});
}

// ---- numerics and edge cases ----

TEST(CrossEntropy, LargeLogitsStayFinite) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor logits = Tensor::from_vector(std::vector<double>{1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}, dtype);
    logits.set_requires_grad(true);
    const Tensor targets = Tensor::from_indices({0, 1}, {2});
    const Tensor losses = cross_entropy(logits, targets, Reduction::None);
    expect_values(losses, {0.0, std::log(2.0)}, 1e-6);
    const Tensor loss = cross_entropy(logits, targets, Reduction::Sum, -100, 0.1);
    EXPECT_TRUE(std::isfinite(loss.item()));
    losses.backward(Tensor::ones({2}, dtype));
    expect_values(logits.grad(), {0, 0, 0, 0, -0.5, 0.5}, 1e-6);
  }
}

// The fused kernel against its composition: nll_loss of log_softmax, values and gradients.
TEST(CrossEntropy, MatchesNllOfLogSoftmax) {
  const Tensor targets = Tensor::from_indices({0, 4, -100, 2, 1, 3}, {2, 3});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Tensor fused_in = random_leaf({2, 3, 5}, 50, -4.0, 4.0);
    Tensor composed_in = fused_in.copy();
    composed_in.set_requires_grad(true);
    const Tensor fused = cross_entropy(fused_in, targets, r);
    const Tensor composed = nll_loss(log_softmax(composed_in, -1), targets, r);
    expect_values(fused, composed.to_vector(), 1e-12);
    fused.backward(Tensor::ones(fused.shape(), DType::Float64));
    composed.backward(Tensor::ones(composed.shape(), DType::Float64));
    expect_values(fused_in.grad(), composed_in.grad().to_vector(), 1e-12);
  }
}

TEST(BinaryCrossEntropyWithLogits, ExtremeLogitsStayFinite) {
  Tensor x = Tensor::from_vector(std::vector<double>{-1e4, 1e4, -1e4, 1e4}, {4}, DType::Float32);
  x.set_requires_grad(true);
  const Tensor t = Tensor::from_vector(std::vector<double>{0, 1, 1, 0}, {4}, DType::Float32);
  const Tensor losses = binary_cross_entropy_with_logits(x, t, Reduction::None);
  expect_values(losses, {0, 0, 1e4, 1e4});
  losses.backward(Tensor::ones({4}, DType::Float32));
  expect_values(x.grad(), {0, 0, -1, 1});
}

TEST(BinaryCrossEntropy, LogIsClampedAtMinus100) {
  Tensor p = Tensor::from_vector(std::vector<double>{0.0, 1.0, 0.0}, {3}, DType::Float64);
  Tensor t = Tensor::from_vector(std::vector<double>{1.0, 0.0, 0.5}, {3}, DType::Float64);
  t.set_requires_grad(true);
  const Tensor losses = binary_cross_entropy(p, t, Reduction::None);
  expect_values(losses, {100, 100, 50});
  losses.backward(Tensor::ones({3}, DType::Float64));
  // The derivative of the clamped loss in t: log(1 - p) - log(p), each clamped at -100.
  expect_values(t.grad(), {100, -100, 100});
}

TEST(CrossEntropy, AllIgnoredMeanIsNan) {
  Tensor logits = random_leaf({3, 4}, 40);
  const Tensor targets = Tensor::from_indices({-100, -100, -100}, {3});
  const Tensor mean = cross_entropy(logits, targets);
  EXPECT_TRUE(std::isnan(mean.item()));
  mean.backward();
  expect_values(logits.grad(), std::vector<double>(12, 0.0));
  EXPECT_EQ(cross_entropy(logits, targets, Reduction::Sum).item(), 0.0);
  EXPECT_TRUE(std::isnan(nll_loss(logits, targets).item()));
}

TEST(CrossEntropy, NonContiguousLogits) {
  // [N, C] logits viewed from a [C, N] buffer (a transpose).
  const Tensor base = constant({5, 3}, 41, -2.0, 2.0);
  Tensor view = base.as_strided({3, 5}, {1, 3}, 0);
  view.set_requires_grad(true);
  Tensor copy = view.copy();
  copy.set_requires_grad(true);
  const Tensor targets = Tensor::from_indices({4, 0, 2}, {3});
  const Tensor a = cross_entropy(view, targets, Reduction::Mean, -100, 0.1);
  const Tensor b = cross_entropy(copy, targets, Reduction::Mean, -100, 0.1);
  EXPECT_DOUBLE_EQ(a.item(), b.item());
  a.backward();
  b.backward();
  expect_values(view.grad(), copy.grad().to_vector(), 1e-15);
}

TEST(MseLoss, SameTensorAsInputAndTarget) {
  Tensor x = random_leaf({2, 3}, 42);
  const Tensor loss = mse_loss(x, x, Reduction::Sum);
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  expect_values(x.grad(), std::vector<double>(6, 0.0));
}

TEST(MseLoss, UnitOutputShapes) {
  const Tensor x = constant({2, 3}, 43, -1, 1), y = constant({3}, 44, -1, 1);
  EXPECT_EQ(mse_loss(x, y).dim(), 0);
  EXPECT_EQ(mse_loss(x, y, Reduction::Sum).dim(), 0);
  EXPECT_EQ(mse_loss(x, y, Reduction::None).shape(), (Shape{2, 3}));
  EXPECT_EQ(cross_entropy(constant({2, 3, 4}, 45, -1, 1), Tensor::from_indices({0, 1, 2, 3, 0, 1}, {2, 3}),
                          Reduction::None)
                .shape(),
            (Shape{2, 3}));
}

// Large enough to run on several threads and over several summation blocks.
template <typename Body>
void expect_same_for_thread_counts(Body body) {
  const int saved = num_threads();
  set_num_threads(1);
  const std::vector<double> one = body();
  set_num_threads(4);
  const std::vector<double> four = body();
  set_num_threads(saved);
  ASSERT_EQ(one.size(), four.size());
  for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], four[i]) << "element " << i;
}

TEST(CrossEntropy, SameResultForEveryThreadCount) {
  const Tensor base = constant({512, 200}, 46, -5, 5).to(DType::Float32);
  Generator gen(47);
  const Tensor targets = randint({512}, 200, &gen);
  expect_same_for_thread_counts([&] {
    Tensor logits = base.copy();
    logits.set_requires_grad(true);
    const Tensor loss = cross_entropy(logits, targets, Reduction::Mean, -100, 0.1);
    loss.backward();
    std::vector<double> result = logits.grad().to_vector();
    result.push_back(loss.item());
    return result;
  });
}

TEST(MseLoss, SameResultForEveryThreadCount) {
  const Tensor a = constant({300000}, 48, -1, 1).to(DType::Float32);
  const Tensor b = constant({300000}, 49, -1, 1).to(DType::Float32);
  expect_same_for_thread_counts([&] {
    return std::vector<double>{mse_loss(a, b).item(), l1_loss(a, b, Reduction::Sum).item(),
                               binary_cross_entropy_with_logits(a, b).item()};
  });
}

// ---- errors ----

TEST(Errors, CrossEntropyTargetOutOfRange) {
  const Tensor logits = Tensor::zeros({2, 3});
  expect_error([&] { cross_entropy(logits, Tensor::from_indices({0, 5}, {2})); },
               {"cross_entropy", "target 5", "3 classes"});
  expect_error([&] { cross_entropy(logits, Tensor::from_indices({-1, 0}, {2})); },
               {"cross_entropy", "target -1", "3 classes", "ignore_index -100"});
}

TEST(Errors, NllLossTargetOutOfRange) {
  expect_error([&] { nll_loss(Tensor::zeros({2, 4}), Tensor::from_indices({4, 0}, {2}), Reduction::Sum, 0); },
               {"nll_loss", "target 4", "4 classes"});
}

TEST(Errors, CrossEntropyTargetShapeMismatch) {
  expect_error([&] { cross_entropy(Tensor::zeros({2, 3, 5}), Tensor::from_indices({0, 1, 2, 3, 4, 0, 1, 2, 3, 4}, {2, 5})); },
               {"cross_entropy", "[2, 5]", "[2, 3, 5]", "[2, 3]"});
  expect_error([&] { cross_entropy(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})); },
               {"cross_entropy", "[2, 4]", "[2, 3]"});
}

TEST(Errors, CrossEntropyTargetDtypeMismatch) {
  expect_error([&] { cross_entropy(Tensor::zeros({2, 3}, DType::Float64), Tensor::zeros({2, 3}, DType::Float32)); },
               {"cross_entropy", "float64", "float32"});
  expect_error([&] { nll_loss(Tensor::zeros({2, 3}), Tensor::zeros({2})); }, {"nll_loss", "int64", "float32"});
  expect_error([&] { cross_entropy(Tensor::from_indices({0, 1}, {1, 2}), Tensor::from_indices({0}, {1})); },
               {"cross_entropy", "floating", "int64"});
}

TEST(Errors, CrossEntropyLabelSmoothingOutOfRange) {
  expect_error([&] { cross_entropy(Tensor::zeros({2, 3}), Tensor::from_indices({0, 1}, {2}), Reduction::Mean, -100, 1.5); },
               {"cross_entropy", "label_smoothing", "1.5"});
}

TEST(Errors, MseLossShapeMismatch) {
  expect_error([&] { mse_loss(Tensor::zeros({2, 3}), Tensor::zeros({4})); }, {"mse_loss", "[2, 3]", "[4]"});
  expect_error([&] { l1_loss(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})); }, {"l1_loss", "[2, 3]", "[3, 2]"});
}

TEST(Errors, LossDtypeMismatch) {
  const Tensor a = Tensor::zeros({2}, DType::Float32), b = Tensor::zeros({2}, DType::Float64);
  expect_error([&] { mse_loss(a, b); }, {"mse_loss", "float32", "float64"});
  expect_error([&] { huber_loss(a, b); }, {"huber_loss", "float32", "float64"});
  expect_error([&] { binary_cross_entropy(a, b); }, {"binary_cross_entropy", "float32", "float64"});
  expect_error([&] { binary_cross_entropy_with_logits(a, a, Reduction::Mean, b); },
               {"binary_cross_entropy_with_logits", "float32", "float64"});
}

TEST(Errors, BinaryCrossEntropyShapeMismatch) {
  expect_error([&] { binary_cross_entropy(Tensor::zeros({2, 3}), Tensor::zeros({3})); },
               {"binary_cross_entropy", "[3]", "[2, 3]"});
  expect_error([&] {
    binary_cross_entropy_with_logits(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}), Reduction::Mean, Tensor(),
                                     Tensor::zeros({4}));
  }, {"binary_cross_entropy_with_logits", "pos_weight", "[4]", "[2, 3]"});
}

TEST(Errors, BinaryCrossEntropyProbabilitiesOutOfRange) {
  const Tensor p = Tensor::from_vector(std::vector<double>{0.5, 1.5}, {2}, DType::Float64);
  expect_error([&] { binary_cross_entropy(p, Tensor::zeros({2}, DType::Float64)); },
               {"binary_cross_entropy", "[0, 1]", "1.5"});
}

TEST(Errors, HuberLossDeltaNotPositive) {
  expect_error([&] { huber_loss(Tensor::zeros({2}), Tensor::zeros({2}), Reduction::Mean, 0.0); },
               {"huber_loss", "delta", "0"});
}

}  // namespace
}  // namespace ouro::testing
