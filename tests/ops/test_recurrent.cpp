// The fused recurrent op against the composed reference (states and every input gradient),
// its own finite-difference gradients, and its determinism across runs and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "../gradcheck.h"

namespace ouro::testing {
namespace {

struct Case {
  std::int64_t steps = 5, batch = 4, input = 3, hidden = 5;
  bool reverse = false;
  bool lengths = false;
  bool bias = true;
};

// Leaves in float64 (made in float64, then converted for float32 runs so both see the same values).
RecurrentInputs make_inputs(CellType cell, const Case& c, DType dtype, std::uint64_t seed) {
  const std::int64_t G = gate_count(cell), H = c.hidden;
  auto leaf = [&](const Shape& shape, std::uint64_t s, double low, double high) {
    Tensor t = random_leaf(shape, seed + s, low, high);
    if (dtype != DType::Float64) {
      t = t.to(dtype);
      t.set_requires_grad(true);
    }
    return t;
  };
  RecurrentInputs in;
  in.x = leaf({c.steps, c.batch, c.input}, 0, -1, 1);
  in.h0 = leaf({c.batch, H}, 1, -1, 1);
  if (cell == CellType::Lstm) in.c0 = leaf({c.batch, H}, 2, -1, 1);
  const double scale = 1.5 / std::sqrt(static_cast<double>(H));
  in.w_ih = leaf({G * H, c.input}, 3, -0.6, 0.6);
  in.w_hh = leaf({G * H, H}, 4, -scale, scale);
  if (c.bias) {
    in.b_ih = leaf({G * H}, 5, -0.3, 0.3);
    in.b_hh = leaf({G * H}, 6, -0.3, 0.3);
  }
  in.reverse = c.reverse;
  if (c.lengths) {
    // 0 and T included, the rest spread between them.
    std::vector<std::int64_t> lengths(static_cast<std::size_t>(c.batch));
    for (std::int64_t b = 0; b < c.batch; ++b)
      lengths[static_cast<std::size_t>(b)] = b == 0 ? c.steps : b == 1 ? 0 : (b * 7 + 1) % (c.steps + 1);
    in.lengths = Tensor::from_indices(lengths, {c.batch});
  }
  return in;
}

std::vector<Tensor> leaves(const RecurrentInputs& in) {
  std::vector<Tensor> out = {in.x, in.h0, in.c0, in.w_ih, in.w_hh, in.b_ih, in.b_hh};
  out.erase(std::remove_if(out.begin(), out.end(), [](const Tensor& t) { return !t.defined(); }), out.end());
  return out;
}

struct Result {
  Tensor states;
  std::vector<Tensor> grads;  // in the order of leaves()
};

using Op = Tensor (*)(CellType, const RecurrentInputs&);

// Runs op and backpropagates a fixed random weighting of the states.
Result run(Op op, CellType cell, const RecurrentInputs& in) {
  for (Tensor t : leaves(in)) t.zero_grad();
  Result r;
  r.states = op(cell, in);
  if (r.states.numel() > 0) {
    Generator gen(99);
    r.states.backward(rand(r.states.shape(), -1.0, 1.0, r.states.dtype(), &gen));
  }
  for (const Tensor& t : leaves(in)) r.grads.push_back(t.grad().defined() ? t.grad().copy() : Tensor());
  return r;
}

// |got - want| <= tol * max(1, max |want|) elementwise: relative to the tensor's scale, so
// elements that cancel to near zero are not held to a relative bound they cannot meet.
void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> g = got.to_vector(), w = want.to_vector();
  double scale = 1;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], tol * scale) << what << ", element " << i << " of " << got.describe();
}

void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], y[i]) << what << ", element " << i;
}

void expect_match(CellType cell, const Case& c, DType dtype, double tol, std::uint64_t seed) {
  const RecurrentInputs in = make_inputs(cell, c, dtype, seed);
  const Result fused = run(recurrent, cell, in);
  const Result reference = run(recurrent_reference, cell, in);
  const std::string what = std::string(cell_name(cell)) + (c.reverse ? " reverse" : " forward") +
                           (c.lengths ? " with lengths" : "") + (c.bias ? "" : " without bias") + " " +
                           dtype_name(dtype) + " T=" + std::to_string(c.steps) + " B=" + std::to_string(c.batch) +
                           " H=" + std::to_string(c.hidden);
  expect_close(fused.states, reference.states, tol, what + ": states");
  ASSERT_EQ(fused.grads.size(), reference.grads.size());
  for (std::size_t k = 0; k < fused.grads.size(); ++k) {
    ASSERT_EQ(fused.grads[k].defined(), reference.grads[k].defined()) << what << ": gradient " << k;
    if (fused.grads[k].defined()) expect_close(fused.grads[k], reference.grads[k], tol, what + ": gradient " + std::to_string(k));
  }
}

class RecurrentFused : public ::testing::TestWithParam<CellType> {};

TEST_P(RecurrentFused, MatchesReferenceInBothDtypes) {
  const CellType cell = GetParam();
  for (bool reverse : {false, true})
    for (bool lengths : {false, true}) {
      Case c;
      c.reverse = reverse;
      c.lengths = lengths;
      expect_match(cell, c, DType::Float64, 1e-12, 1);
      expect_match(cell, c, DType::Float32, 1e-5, 1);
    }
}

TEST_P(RecurrentFused, MatchesReferenceInEdgeCases) {
  const CellType cell = GetParam();
  for (DType dtype : {DType::Float64, DType::Float32}) {
    const double tol = dtype == DType::Float64 ? 1e-12 : 1e-5;
    Case no_bias;
    no_bias.bias = false;
    no_bias.lengths = true;
    expect_match(cell, no_bias, dtype, tol, 2);
    Case single;  // batch 1, one step
    single.batch = 1;
    single.steps = 1;
    expect_match(cell, single, dtype, tol, 3);
    Case one_row;
    one_row.batch = 1;
    one_row.reverse = true;
    expect_match(cell, one_row, dtype, tol, 4);
  }
}

// Large enough for the steps to run on two threads, with a batch that is not a multiple of
// the kernel's row tile and a hidden size that is not a multiple of its unit block.
Case parallel_case() {
  Case c;
  c.steps = 4;
  c.batch = 33;
  c.input = 7;
  c.hidden = 130;
  c.lengths = true;
  return c;
}

TEST_P(RecurrentFused, MatchesReferenceOnTheMultithreadedPath) {
  const CellType cell = GetParam();
  const int saved_threads = num_threads();
  set_num_threads(2);
  for (bool reverse : {false, true}) {
    Case c = parallel_case();
    c.reverse = reverse;
    expect_match(cell, c, DType::Float64, 1e-12, 5);
    expect_match(cell, c, DType::Float32, 1e-5, 5);
  }
  set_num_threads(saved_threads);
}

TEST_P(RecurrentFused, StepsZeroGivesAnEmptySequence) {
  const CellType cell = GetParam();
  Case c;
  c.steps = 0;
  const RecurrentInputs in = make_inputs(cell, c, DType::Float32, 6);
  const Tensor states = recurrent(cell, in);
  EXPECT_EQ(states.shape(), (Shape{0, 4, state_width(cell, 5)}));
}

TEST_P(RecurrentFused, GradientsMatchFiniteDifferences) {
  const CellType cell = GetParam();
  for (bool reverse : {false, true}) {
    Case c;
    c.steps = 4;
    c.batch = 3;
    c.input = 2;
    c.hidden = 3;
    c.reverse = reverse;
    c.lengths = true;
    RecurrentInputs in = make_inputs(cell, c, DType::Float64, 10);
    std::vector<Tensor> inputs = {in.x, in.h0, in.w_ih, in.w_hh, in.b_ih, in.b_hh};
    if (cell == CellType::Lstm) inputs.push_back(in.c0);
    expect_gradients_match(
        [&](const std::vector<Tensor>& v) {
          RecurrentInputs r = in;
          r.x = v[0], r.h0 = v[1], r.w_ih = v[2], r.w_hh = v[3], r.b_ih = v[4], r.b_hh = v[5];
          if (cell == CellType::Lstm) r.c0 = v[6];
          return recurrent(cell, r);
        },
        inputs);
  }
}

TEST_P(RecurrentFused, RepeatedRunsAreBitIdenticalAndThreadCountsAgree) {
  const CellType cell = GetParam();
  const int saved_threads = num_threads();
  const RecurrentInputs in = make_inputs(cell, parallel_case(), DType::Float32, 7);
  set_num_threads(2);
  const Result first = run(recurrent, cell, in);
  const Result second = run(recurrent, cell, in);
  set_num_threads(1);
  const Result single = run(recurrent, cell, in);
  set_num_threads(saved_threads);
  expect_identical(first.states, second.states, "states, two runs");
  for (std::size_t k = 0; k < first.grads.size(); ++k)
    expect_identical(first.grads[k], second.grads[k], "gradient " + std::to_string(k) + ", two runs");
  expect_close(single.states, first.states, 1e-6, "states, 1 vs 2 threads");
  for (std::size_t k = 0; k < first.grads.size(); ++k)
    expect_close(single.grads[k], first.grads[k], 1e-6, "gradient " + std::to_string(k) + ", 1 vs 2 threads");
}

TEST(RecurrentFusedInputs, NonContiguousInputsAreRead) {
  Case c;
  const RecurrentInputs in = make_inputs(CellType::Lstm, c, DType::Float64, 8);
  RecurrentInputs strided = in;
  // The same x values reached through a transposed view of a [B, T, I] copy.
  const Tensor batch_major = transpose(in.x.detach(), 0, 1).copy();
  strided.x = transpose(batch_major, 0, 1);
  ASSERT_FALSE(strided.x.is_contiguous());
  expect_close(recurrent(CellType::Lstm, strided), recurrent(CellType::Lstm, in), 0, "states");
}

TEST(RecurrentFusedInputs, BadShapesNameTheTensor) {
  Case c;
  RecurrentInputs in = make_inputs(CellType::Gru, c, DType::Float32, 9);
  in.w_hh = Tensor::zeros({10, 5});
  expect_error([&] { recurrent(CellType::Gru, in); }, {"w_hh", "[10, 5]", "[15, 5]"});
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentFused,
                         ::testing::Values(CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

}  // namespace
}  // namespace ouro::testing
