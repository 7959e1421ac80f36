// The composed reference recurrent layer: gradients by finite differences, and the
// carried-state rule for sequences shorter than the batch's longest.
#include <gtest/gtest.h>

#include "../gradcheck.h"

namespace ouro::testing {
namespace {

RecurrentInputs random_inputs(CellType cell, std::int64_t T, std::int64_t B, std::int64_t I, std::int64_t H,
                              std::uint64_t seed) {
  const std::int64_t G = gate_count(cell);
  RecurrentInputs in;
  in.x = random_leaf({T, B, I}, seed);
  in.h0 = random_leaf({B, H}, seed + 1);
  if (cell == CellType::Lstm) in.c0 = random_leaf({B, H}, seed + 2);
  in.w_ih = random_leaf({G * H, I}, seed + 3, -0.6, 0.6);
  in.w_hh = random_leaf({G * H, H}, seed + 4, -0.6, 0.6);
  in.b_ih = random_leaf({G * H}, seed + 5, -0.3, 0.3);
  in.b_hh = random_leaf({G * H}, seed + 6, -0.3, 0.3);
  return in;
}

class RecurrentReference : public ::testing::TestWithParam<CellType> {};

TEST_P(RecurrentReference, GradientsMatchFiniteDifferences) {
  const CellType cell = GetParam();
  for (bool reverse : {false, true}) {
    RecurrentInputs in = random_inputs(cell, 4, 3, 2, 3, 10);
    in.reverse = reverse;
    in.lengths = Tensor::from_indices({4, 2, 0}, {3});
    std::vector<Tensor> leaves = {in.x, in.h0, in.w_ih, in.w_hh, in.b_ih, in.b_hh};
    if (cell == CellType::Lstm) leaves.push_back(in.c0);
    expect_gradients_match(
        [&](const std::vector<Tensor>& v) {
          RecurrentInputs r = in;
          r.x = v[0], r.h0 = v[1], r.w_ih = v[2], r.w_hh = v[3], r.b_ih = v[4], r.b_hh = v[5];
          if (cell == CellType::Lstm) r.c0 = v[6];
          return recurrent_reference(cell, r);
        },
        leaves);
  }
}

TEST_P(RecurrentReference, EndedSequencesCarryTheirState) {
  const CellType cell = GetParam();
  RecurrentInputs in = random_inputs(cell, 5, 2, 3, 4, 20);
  in.lengths = Tensor::from_indices({5, 2}, {2});
  const Tensor states = recurrent_reference(cell, in);
  const std::int64_t S = state_width(cell, 4);
  ASSERT_EQ(states.shape(), (Shape{5, 2, S}));
  for (std::int64_t t = 2; t < 5; ++t)
    for (std::int64_t s = 0; s < S; ++s) EXPECT_EQ(states.at({t, 1, s}), states.at({1, 1, s}));
  in.reverse = true;
  const Tensor back = recurrent_reference(cell, in);
  for (std::int64_t t = 2; t < 5; ++t)
    for (std::int64_t s = 0; s < 4; ++s) EXPECT_EQ(back.at({t, 1, s}), in.h0.at({1, s}));
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentReference,
                         ::testing::Values(CellType::RnnTanh, CellType::RnnRelu, CellType::Lstm, CellType::Gru),
                         [](const auto& info) { return std::string(cell_name(info.param)); });

}  // namespace
}  // namespace ouro::testing
