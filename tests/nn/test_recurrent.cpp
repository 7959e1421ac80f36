// The recurrent layers (SimpleRNN, LSTM, GRU, Jordan, Bidirectional): float64 gradient checks
// for every cell and option, the length / mask / state rules, stateful truncated BPTT, and the
// module plumbing (names, config, Sequential, summary). PyTorch parity is in
// test_recurrent_torch.cpp.
#include <cmath>

#include "../gradcheck.h"
#include "ouro/nn/bidirectional.h"
#include "ouro/nn/jordan.h"
#include "ouro/nn/recurrent.h"

namespace ouro::testing {
namespace {

enum class Cell { Tanh, Relu, Lstm, Gru };
const char* name_of(Cell c) {
  switch (c) {
    case Cell::Tanh: return "rnn_tanh";
    case Cell::Relu: return "rnn_relu";
    case Cell::Lstm: return "lstm";
    case Cell::Gru: return "gru";
  }
  return "?";
}

std::shared_ptr<RecurrentLayer> make_layer(Cell cell, RecurrentOptions o) {
  switch (cell) {
    case Cell::Tanh: o.nonlinearity = ActivationKind::Tanh; return std::make_shared<SimpleRNN>(o);
    case Cell::Relu: o.nonlinearity = ActivationKind::Relu; return std::make_shared<SimpleRNN>(o);
    case Cell::Lstm: return std::make_shared<LSTM>(o);
    case Cell::Gru: return std::make_shared<GRU>(o);
  }
  return nullptr;
}

RecurrentOptions f64(std::int64_t in, std::int64_t hidden, Generator* gen) {
  RecurrentOptions o;
  o.input_size = in;
  o.hidden_size = hidden;
  o.dtype = DType::Float64;
  o.generator = gen;
  return o;
}

// Everything a forward returns, flattened into one vector, so one gradient check covers the
// output and the final states.
Tensor everything(const RecurrentOutput& r) {
  std::vector<Tensor> parts{reshape(r.output, {-1}), reshape(r.state.h, {-1})};
  if (r.state.c.defined()) parts.push_back(reshape(r.state.c, {-1}));
  return concat(parts, 0);
}

// Gradient check of `layer` with x (and initial state leaves) as extra inputs; the layer's own
// parameters are checked too (perturbed in place through the same handles).
void check_layer(SequenceLayer& layer, const Tensor& x, const RecurrentState& initial, const Tensor& lengths,
                 const Tensor& mask = Tensor()) {
  std::vector<Tensor> leaves{x};
  if (initial.h.defined()) leaves.push_back(initial.h);
  if (initial.c.defined()) leaves.push_back(initial.c);
  for (const Tensor& p : layer.parameters()) leaves.push_back(p);
  expect_gradients_match([&](const std::vector<Tensor>&) { return everything(layer.forward(x, initial, lengths, mask)); },
                         leaves);
}

class RecurrentCells : public ::testing::TestWithParam<Cell> {};

TEST_P(RecurrentCells, GradientsSingleLayerFullLength) {
  Generator gen(1);
  auto layer = make_layer(GetParam(), f64(3, 2, &gen));
  check_layer(*layer, random_leaf({2, 4, 3}, 11), {}, Tensor());
}

TEST_P(RecurrentCells, GradientsStackedWithInitialStateAndLengths) {
  Generator gen(2);
  RecurrentOptions o = f64(2, 3, &gen);
  o.num_layers = 2;
  auto layer = make_layer(GetParam(), o);
  RecurrentState init{random_leaf({2, 3, 3}, 21), GetParam() == Cell::Lstm ? random_leaf({2, 3, 3}, 22) : Tensor()};
  check_layer(*layer, random_leaf({3, 4, 2}, 23), init, Tensor::from_indices({4, 2, 0}, {3}));
}

TEST_P(RecurrentCells, GradientsBidirectionalTimeMajorWithLengths) {
  Generator gen(3);
  RecurrentOptions o = f64(2, 2, &gen);
  o.bidirectional = true;
  o.batch_first = false;
  auto layer = make_layer(GetParam(), o);
  check_layer(*layer, random_leaf({4, 3, 2}, 31), {}, Tensor::from_indices({3, 4, 1}, {3}));
}

TEST_P(RecurrentCells, GradientsTwoLayerBidirectionalInitialStateMask) {
  Generator gen(4);
  RecurrentOptions o = f64(2, 2, &gen);
  o.bidirectional = true;
  o.num_layers = 2;
  auto layer = make_layer(GetParam(), o);
  RecurrentState init{random_leaf({4, 2, 2}, 41), GetParam() == Cell::Lstm ? random_leaf({4, 2, 2}, 42) : Tensor()};
  const Tensor mask = Tensor::from_vector({1, 1, 0, 1, 1, 1}, {2, 3}, DType::Float64);
  check_layer(*layer, random_leaf({2, 3, 2}, 43), init, Tensor(), mask);
}

TEST_P(RecurrentCells, GradientsLastOutputOnly) {
  Generator gen(5);
  RecurrentOptions o = f64(2, 3, &gen);
  o.bidirectional = true;
  o.return_sequences = false;
  auto layer = make_layer(GetParam(), o);
  const Tensor x = random_leaf({3, 4, 2}, 51);
  const Tensor lengths = Tensor::from_indices({2, 4, 1}, {3});
  const Tensor last = layer->forward(x, {}, lengths).output;
  ASSERT_EQ(last.shape(), (Shape{3, 6}));
  check_layer(*layer, x, {}, lengths);
}

// Outputs past a length are zero and the final state is what the sequence alone would give.
TEST_P(RecurrentCells, LengthsMatchRunningEachSequenceAlone) {
  Generator gen(6);
  RecurrentOptions o = f64(3, 2, &gen);
  o.bidirectional = true;
  o.num_layers = 2;
  auto layer = make_layer(GetParam(), o);
  const Tensor x = random_leaf({2, 5, 3}, 61);
  const std::vector<std::int64_t> lengths{5, 3};
  const RecurrentOutput batched = layer->forward(x, {}, Tensor::from_indices(lengths, {2}));
  for (std::int64_t b = 0; b < 2; ++b) {
    const std::int64_t n = lengths[static_cast<std::size_t>(b)];
    const RecurrentOutput alone = layer->forward(narrow(narrow(x, 0, b, 1), 1, 0, n), {});
    for (std::int64_t t = 0; t < 5; ++t)
      for (std::int64_t f = 0; f < 4; ++f) {
        const double got = batched.output.at({b, t, f});
        if (t < n)
          EXPECT_NEAR(got, alone.output.at({0, t, f}), 1e-12) << "b " << b << " t " << t;
        else
          EXPECT_EQ(got, 0.0) << "past the length: b " << b << " t " << t;
      }
    for (std::int64_t r = 0; r < 4; ++r)
      for (std::int64_t h = 0; h < 2; ++h) {
        EXPECT_NEAR(batched.state.h.at({r, b, h}), alone.state.h.at({r, 0, h}), 1e-12);
        if (GetParam() == Cell::Lstm) {
          EXPECT_NEAR(batched.state.c.at({r, b, h}), alone.state.c.at({r, 0, h}), 1e-12);
        }
      }
  }
}

// Stateful mode over windows of a stream gives the same values as one long forward, and no
// gradient crosses a window boundary (truncated BPTT).
TEST_P(RecurrentCells, StatefulWindowsEqualOneLongForward) {
  Generator gen(7);
  RecurrentOptions o = f64(2, 3, &gen);
  o.num_layers = 2;
  auto whole = make_layer(GetParam(), o);
  o.stateful = true;
  auto windowed = make_layer(GetParam(), o);
  windowed->load_state_dict(whole->state_dict());
  const Tensor stream = random_leaf({2, 6, 2}, 71);
  const RecurrentOutput reference = whole->forward(stream, {});
  std::vector<Tensor> windows;
  for (std::int64_t start = 0; start < 6; start += 2) {
    Tensor piece = contiguous(narrow(stream, 1, start, 2)).detach();
    piece.set_requires_grad(true);
    windows.push_back(piece);
  }
  std::vector<Tensor> outputs;
  for (const Tensor& w : windows) outputs.push_back(windowed->forward(w));
  expect_values(concat(outputs, 1), reference.output.to_vector(), 1e-12);
  expect_values(windowed->carried_state().h, reference.state.h.to_vector(), 1e-12);
  EXPECT_FALSE(windowed->carried_state().h.requires_grad());

  // The last window's loss reaches its own input and the weights, not earlier windows.
  sum(outputs.back()).backward();
  EXPECT_TRUE(windows[2].grad().defined());
  EXPECT_FALSE(windows[0].grad().defined());
  EXPECT_FALSE(windows[1].grad().defined());

  // reset_states: the next call starts from zeros again.
  windowed->reset_states();
  expect_values(windowed->forward(windows[0]), reshape(narrow(reference.output, 1, 0, 2), {-1}).to_vector(), 1e-12);
}

TEST_P(RecurrentCells, DropoutBetweenLayersOnlyInTraining) {
  Generator gen(8);
  RecurrentOptions o = f64(2, 4, &gen);
  o.num_layers = 2;
  auto plain = make_layer(GetParam(), o);
  o.dropout = 0.5;
  auto dropped = make_layer(GetParam(), o);
  dropped->load_state_dict(plain->state_dict());
  const Tensor x = random_leaf({3, 5, 2}, 81);
  const std::vector<double> reference = plain->forward(x).to_vector();
  dropped->eval();
  expect_values(dropped->forward(x), reference, 0);
  dropped->train();
  const std::vector<double> noisy = dropped->forward(x).to_vector();
  double difference = 0;
  for (std::size_t i = 0; i < noisy.size(); ++i) difference += std::abs(noisy[i] - reference[i]);
  EXPECT_GT(difference, 1e-3);
  // The same seed gives the same masks.
  Generator a(9), b(9);
  o.generator = &a;
  auto first = make_layer(GetParam(), o);
  o.generator = &b;
  auto second = make_layer(GetParam(), o);
  expect_values(first->forward(x), second->forward(x).to_vector(), 0);
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentCells, ::testing::Values(Cell::Tanh, Cell::Relu, Cell::Lstm, Cell::Gru),
                         [](const auto& info) { return std::string(name_of(info.param)); });

TEST(RecurrentLayer, ParameterNamesShapesAndInit) {
  RecurrentOptions o;
  o.input_size = 5;
  o.hidden_size = 4;
  o.num_layers = 2;
  o.bidirectional = true;
  LSTM lstm(o);
  const std::vector<std::string> expected{
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  const auto named = lstm.named_parameters();
  ASSERT_EQ(named.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(named[i].first, expected[i]);
    for (double v : named[i].second.to_vector()) EXPECT_LE(std::abs(v), 0.5);  // 1/sqrt(4)
  }
  EXPECT_EQ(lstm.parameter(1, true, "weight_ih").shape(), (Shape{16, 8}));
  EXPECT_EQ(lstm.parameter(0, false, "weight_ih").shape(), (Shape{16, 5}));
  EXPECT_EQ(lstm.parameter(0, false, "weight_hh").shape(), (Shape{16, 4}));
  // torch: 2 directions x (16*5 + 16*4 + 32) + 2 x (16*8 + 16*4 + 32)
  EXPECT_EQ(lstm.parameter_count(), 2 * (80 + 64 + 32) + 2 * (128 + 64 + 32));
  o.bias = false;
  o.bidirectional = false;
  o.num_layers = 1;
  EXPECT_EQ(GRU(o).named_parameters().size(), 2u);
}

TEST(RecurrentLayer, ConfigTypeNameSequentialAndSummary) {
  RecurrentOptions o;
  o.input_size = 3;
  o.hidden_size = 4;
  o.nonlinearity = ActivationKind::Relu;
  o.return_sequences = false;
  auto rnn = std::make_shared<SimpleRNN>(o);
  EXPECT_EQ(rnn->type_name(), "SimpleRNN");
  EXPECT_EQ(rnn->config_json(),
            "{\"input_size\": 3, \"hidden_size\": 4, \"num_layers\": 1, \"bias\": true, \"batch_first\": true, "
            "\"bidirectional\": false, \"dropout\": 0, \"return_sequences\": false, \"stateful\": false, "
            "\"nonlinearity\": \"relu\"}");
  EXPECT_EQ(LSTM(3, 4).type_name(), "LSTM");
  EXPECT_EQ(GRU(3, 4).type_name(), "GRU");
  Sequential model{std::make_shared<GRU>(3, 5),
                   std::make_shared<SimpleRNN>(RecurrentOptions{.input_size = 5, .hidden_size = 4, .return_sequences = false}),
                   std::make_shared<Linear>(4, 2)};
  EXPECT_EQ(model.forward(Tensor::zeros({7, 6, 3})).shape(), (Shape{7, 2}));
  const std::string text = summary(model, {6, 3});
  for (const char* fragment : {"(GRU)", "(None, 6, 5)", "(SimpleRNN)", "(None, 4)", "(Linear)", "(None, 2)"})
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\n" << text;
}

TEST(RecurrentLayer, ErrorsNameTheProblem) {
  LSTM lstm(3, 2);
  expect_error([&] { lstm.forward(Tensor::zeros({2, 4, 5})); }, {"LSTM", "3 input features", "[2, 4, 5]"});
  expect_error([&] { lstm.forward(Tensor::zeros({2, 4})); }, {"LSTM", "[batch, steps, features]"});
  expect_error([&] { lstm.forward(Tensor::zeros({2, 4, 3}), {Tensor::zeros({2, 2, 2})}); },
               {"initial h", "[1, 2, 2]", "[2, 2, 2]"});
  expect_error([&] { GRU(3, 2).forward(Tensor::zeros({2, 4, 3}), {Tensor(), Tensor::zeros({1, 2, 2})}); },
               {"initial c is only for the LSTM"});
  expect_error([&] { lstm.forward(Tensor::zeros({2, 4, 3}), {}, Tensor::from_indices({4, 5}, {2})); },
               {"length of 5", "[0, 4]"});
  expect_error(
      [&] { lstm.forward(Tensor::zeros({2, 3, 3}), {}, Tensor(), Tensor::from_vector(std::vector<double>{1, 0, 1, 1, 1, 1}, {2, 3})); },
      {"mask", "row 0", "not a prefix mask"});
  expect_error([&] { lstm.forward(Tensor::zeros({2, 3, 3}), {}, Tensor::from_indices({1, 1}, {2}), Tensor::ones({2, 3})); },
               {"lengths or a mask, not both"});
  expect_error([&] { SimpleRNN(RecurrentOptions{.input_size = 1, .hidden_size = 1, .nonlinearity = ActivationKind::Sigmoid}); },
               {"SimpleRNN", "tanh or relu", "sigmoid"});
  RecurrentOptions o{.input_size = 3, .hidden_size = 2, .stateful = true};
  LSTM stateful(o);
  stateful.forward(Tensor::zeros({2, 4, 3}));
  expect_error([&] { stateful.forward(Tensor::zeros({3, 4, 3})); }, {"stateful", "batch 2", "batch 3", "reset_states"});
}

TEST(RecurrentLayer, MaskEqualsLengths) {
  Generator gen(10);
  GRU gru(f64(2, 3, &gen));
  const Tensor x = random_leaf({3, 4, 2}, 101);
  const Tensor mask = Tensor::from_indices({1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}, {3, 4});
  EXPECT_EQ(lengths_from_mask(mask).to_index_vector(), (std::vector<std::int64_t>{2, 4, 0}));
  const RecurrentOutput a = gru.forward(x, {}, Tensor(), mask);
  const RecurrentOutput b = gru.forward(x, {}, Tensor::from_indices({2, 4, 0}, {3}));
  expect_values(a.output, b.output.to_vector(), 0);
  expect_values(a.state.h, b.state.h.to_vector(), 0);
}

TEST(RecurrentLayer, ReverseSequencesWithinLengths) {
  const Tensor x = Tensor::from_vector(std::vector<double>{0, 10, 1, 11, 2, 12}, {3, 2, 1});  // [T=3, B=2, 1]
  const Tensor r = reverse_sequences(x, Tensor::from_indices({3, 2}, {2}));
  EXPECT_EQ(r.to_vector(), (std::vector<double>{2, 11, 1, 10, 0, 12}));
  EXPECT_EQ(reverse_sequences(r, Tensor::from_indices({3, 2}, {2})).to_vector(), x.to_vector());
}

// The wrapper over a one-layer LSTM is the built-in bidirectional LSTM when the backward copy
// holds the built-in's reverse weights: the op's reverse and reverse_sequences agree.
TEST(RecurrentLayer, BidirectionalWrapperEqualsBuiltInFlag) {
  Generator gen(11);
  RecurrentOptions o = f64(3, 2, &gen);
  o.bidirectional = true;
  LSTM builtin(o);
  o.bidirectional = false;
  Bidirectional wrapper(std::make_shared<LSTM>(o));
  StateDict state;
  for (const auto& [name, tensor] : builtin.state_dict()) {
    const bool reverse = name.size() > 8 && name.substr(name.size() - 8) == "_reverse";
    state[(reverse ? "backward_layer." + name.substr(0, name.size() - 8) : "forward_layer." + name)] = tensor;
  }
  wrapper.load_state_dict(state);
  const Tensor x = random_leaf({3, 4, 3}, 111);
  const Tensor lengths = Tensor::from_indices({4, 2, 1}, {3});
  const RecurrentOutput a = builtin.forward(x, {}, lengths);
  const RecurrentOutput b = wrapper.forward(x, {}, lengths);
  expect_values(b.output, a.output.to_vector(), 1e-12);
  expect_values(b.state.h, a.state.h.to_vector(), 1e-12);
  expect_values(b.state.c, a.state.c.to_vector(), 1e-12);
  EXPECT_EQ(wrapper.type_name(), "Bidirectional");
  EXPECT_EQ(wrapper.output_size(), 4);
}

JordanOptions jordan_options(Generator* gen) {
  JordanOptions o;
  o.input_size = 2;
  o.hidden_size = 3;
  o.output_size = 2;
  o.dtype = DType::Float64;
  o.generator = gen;
  return o;
}

// Jordan's recurrence, written out with plain loops on doubles.
TEST(Jordan, ForwardMatchesTheEquations) {
  Generator gen(12);
  JordanOptions o = jordan_options(&gen);
  o.output_activation = ActivationKind::Sigmoid;
  Jordan jordan(o);
  const Tensor x = random_leaf({1, 3, 2}, 121);
  const Tensor y0 = random_leaf({1, 1, 2}, 122);
  const RecurrentOutput r = jordan.forward(x, {y0});
  const auto sd = jordan.state_dict();
  auto w = [&](const char* n, std::int64_t i, std::int64_t j) { return sd.at(n).at({i, j}); };
  auto v = [&](const char* n, std::int64_t i) { return sd.at(n).at({i}); };
  std::vector<double> y{y0.at({0, 0, 0}), y0.at({0, 0, 1})};
  for (std::int64_t t = 0; t < 3; ++t) {
    std::vector<double> h(3);
    for (std::int64_t i = 0; i < 3; ++i) {
      double a = v("bias_h", i);
      for (std::int64_t j = 0; j < 2; ++j) a += w("weight_xh", i, j) * x.at({0, t, j}) + w("weight_yh", i, j) * y[j];
      h[i] = std::tanh(a);
    }
    for (std::int64_t k = 0; k < 2; ++k) {
      double a = v("bias_y", k);
      for (std::int64_t i = 0; i < 3; ++i) a += w("weight_hy", k, i) * h[i];
      y[k] = 1 / (1 + std::exp(-a));
      EXPECT_NEAR(r.output.at({0, t, k}), y[k], 1e-14) << "t " << t;
    }
  }
  EXPECT_NEAR(r.state.h.at({0, 0, 0}), y[0], 1e-14);
  EXPECT_EQ(jordan.type_name(), "Jordan");
  EXPECT_EQ(jordan.parameter_count(), 3 * 2 + 3 * 2 + 3 + 2 * 3 + 2);
}

TEST(Jordan, Gradients) {
  Generator gen(13);
  Jordan jordan(jordan_options(&gen));
  check_layer(jordan, random_leaf({3, 4, 2}, 131), {random_leaf({1, 3, 2}, 132)}, Tensor::from_indices({4, 2, 0}, {3}));
  JordanOptions o = jordan_options(&gen);
  o.batch_first = false;
  o.return_sequences = false;
  o.activation = ActivationKind::Relu;
  o.output_activation = ActivationKind::Tanh;
  Jordan last(o);
  const Tensor x = random_leaf({4, 3, 2}, 133);
  ASSERT_EQ(last.forward(x).shape(), (Shape{3, 2}));
  check_layer(last, x, {}, Tensor::from_indices({4, 1, 3}, {3}));
}

TEST(Jordan, BidirectionalWrapperGradients) {
  Generator gen(14);
  Bidirectional bi(std::make_shared<Jordan>(jordan_options(&gen)));
  EXPECT_EQ(bi.named_parameters().front().first, "forward_layer.weight_xh");
  EXPECT_EQ(bi.parameter_count(), 2 * std::make_shared<Jordan>(jordan_options(&gen))->parameter_count());
  check_layer(bi, random_leaf({3, 4, 2}, 141), {random_leaf({2, 3, 2}, 142)}, Tensor::from_indices({4, 2, 1}, {3}));
}

// The backward copy sees each sequence reversed within its length: running the wrapped copy
// alone on the hand-reversed sequence gives the second half of the output, reversed back.
TEST(Jordan, BidirectionalBackwardHalfIsTheReversedRun) {
  Generator gen(15);
  Bidirectional bi(std::make_shared<Jordan>(jordan_options(&gen)));
  const Tensor x = random_leaf({1, 4, 2}, 151);
  const Tensor out = bi.forward(x, {}, Tensor::from_indices({3}, {1})).output;  // [1, 4, 4]
  const Tensor reversed = concat({narrow(x, 1, 2, 1), narrow(x, 1, 1, 1), narrow(x, 1, 0, 1)}, 1);
  const Tensor alone = bi.backward_layer()->forward(reversed);  // [1, 3, 2]
  for (std::int64_t t = 0; t < 3; ++t)
    for (std::int64_t k = 0; k < 2; ++k) EXPECT_NEAR(out.at({0, t, 2 + k}), alone.at({0, 2 - t, k}), 1e-14);
  for (std::int64_t k = 0; k < 4; ++k) EXPECT_EQ(out.at({0, 3, k}), 0.0);
}

TEST(Jordan, StatefulCarriesTheOutput) {
  Generator gen(16);
  JordanOptions o = jordan_options(&gen);
  Jordan whole(o);
  o.stateful = true;
  Jordan windowed(o);
  windowed.load_state_dict(whole.state_dict());
  const Tensor x = random_leaf({2, 4, 2}, 161);
  const Tensor reference = whole.forward(x);
  const Tensor a = windowed.forward(contiguous(narrow(x, 1, 0, 2)));
  const Tensor b = windowed.forward(contiguous(narrow(x, 1, 2, 2)));
  expect_values(concat({a, b}, 1), reference.to_vector(), 1e-13);
}

}  // namespace
}  // namespace ouro::testing
