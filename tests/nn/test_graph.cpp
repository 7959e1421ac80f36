// Tests of the functional graph API: shape inference at call(), GraphModel with several inputs
// and outputs, shared layers, structural topological order, and the errors a wiring mistake gives.
#include "gradcheck.h"
#include "ouro/nn/graph.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"

namespace ouro::testing {
namespace {

std::shared_ptr<Linear> linear64(std::int64_t in, std::int64_t out, std::uint64_t seed,
                                 ActivationKind activation = ActivationKind::None) {
  Generator gen(seed);
  return std::make_shared<Linear>(
      LinearOptions{.in = in, .out = out, .bias = true, .activation = activation, .dtype = DType::Float64, .generator = &gen});
}

std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> names;
  for (auto& [name, t] : m.named_parameters()) names.push_back(name);
  return names;
}

std::vector<std::string> step_names(const GraphModel& m) {
  std::vector<std::string> names;
  for (const GraphStep& s : m.steps()) names.push_back(s.name);
  return names;
}

// Every step reads only steps before it.
void expect_topological(const GraphModel& m) {
  for (std::size_t s = 0; s < m.steps().size(); ++s)
    for (std::size_t input : m.steps()[s].inputs) EXPECT_LT(input, s) << m.steps()[s].name;
}

TEST(Graph, ApplyInfersPerSampleShapes) {
  Sym x = Input({6, 2}, "seq");
  EXPECT_TRUE(x.is_input());
  Sym flat = call(std::make_shared<Flatten>(), x);
  EXPECT_EQ(flat.shape(), (Shape{12}));
  Sym h = Layer(std::make_shared<Linear>(12, 8, ActivationKind::Relu))(flat);
  EXPECT_EQ(h.shape(), (Shape{8}));
  Sym repeated = call(std::make_shared<RepeatVector>(6), h);
  EXPECT_EQ(repeated.shape(), (Shape{6, 8}));
  Sym joined = call(std::make_shared<Concatenate>(), {x, repeated});
  EXPECT_EQ(joined.shape(), (Shape{6, 10}));
  EXPECT_FALSE(joined.is_input());
  EXPECT_EQ(joined.dtype(), DType::Float32);
  EXPECT_EQ(symbolic_shape_str({6, 10}), "(None, 6, 10)");
  EXPECT_EQ(symbolic_shape_str({}), "(None,)");
}

TEST(Graph, TwoInputsTwoOutputs) {
  Sym a = Input({4}, "a", DType::Float64), b = Input({3}, "b", DType::Float64);
  auto la = linear64(4, 5, 1), lb = linear64(3, 5, 2), head = linear64(10, 2, 3), side = linear64(5, 1, 4);
  Sym ha = call(la, a), hb = call(lb, b);
  Sym joined = call(std::make_shared<Concatenate>(), {ha, hb});
  Sym out1 = call(head, joined), out2 = call(side, hb);
  GraphModel model({a, b}, {out1, out2});
  EXPECT_EQ(step_names(model), (std::vector<std::string>{"a", "b", "linear", "linear_1", "concatenate", "linear_2",
                                                         "linear_3"}));
  expect_topological(model);
  EXPECT_EQ(model.parameter_count(), (4 * 5 + 5) + (3 * 5 + 5) + (10 * 2 + 2) + (5 * 1 + 1));

  Tensor xa = random_leaf({7, 4}, 10).detach(), xb = random_leaf({7, 3}, 11).detach();
  std::vector<Tensor> outputs = model.forward_all({xa, xb});
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].shape(), (Shape{7, 2}));
  EXPECT_EQ(outputs[1].shape(), (Shape{7, 1}));
  const Tensor hb_value = (*lb)(xb);
  expect_values(outputs[0], (*head)(concat({(*la)(xa), hb_value}, 1)).to_vector(), 1e-12);
  expect_values(outputs[1], (*side)(hb_value).to_vector(), 1e-12);
  expect_error([&] { model.forward(std::vector<Tensor>{xa, xb}); }, {"2 outputs", "forward_all"});
  expect_error([&] { model.forward_all({xa}); }, {"expected 2 inputs, got 1"});
  expect_error([&] { model.forward_all({xa, random_leaf({6, 3}, 12).detach()}); },
               {"'a'", "'b'", "different batch sizes", "[7, 4]", "[6, 3]"});
}

TEST(Graph, SharedLayerAppearsOnceAndGetsTheSummedGradient) {
  Sym x = Input({3}, "x", DType::Float64), y = Input({3}, "y", DType::Float64);
  auto shared = linear64(3, 2, 5, ActivationKind::Tanh);
  Layer encoder(shared, "encoder");
  Sym joined = call(std::make_shared<Concatenate>(), {encoder(x), encoder(y)});
  auto head = linear64(4, 2, 6);
  GraphModel model({x, y}, {call(head, joined)});
  EXPECT_EQ(parameter_names(model),
            (std::vector<std::string>{"encoder.weight", "encoder.bias", "linear.weight", "linear.bias"}));
  EXPECT_EQ(model.parameters().size(), 4u);
  EXPECT_EQ(model.layer("encoder"), shared);
  EXPECT_EQ(model.steps()[3].name, "encoder");
  EXPECT_EQ(model.steps()[3].call_index, 1u);

  // Through the whole graph, in float64: the shared weight's gradient is checked against
  // finite differences, which see both uses at once.
  expect_gradients_match([&](const auto& in) { return model.forward_all({in[0], in[1]})[0]; },
                         {random_leaf({4, 3}, 20), random_leaf({4, 3}, 21), shared->weight(), shared->bias()});

  // And it is the sum of what each use alone contributes.
  Tensor xs = random_leaf({4, 3}, 22).detach(), ys = random_leaf({4, 3}, 23).detach();
  auto grad_of = [&](const Tensor& loss) {
    shared->weight().zero_grad();
    loss.backward();
    return shared->weight().grad().to_vector();
  };
  const std::vector<double> both = grad_of(sum(model(std::vector<Tensor>{xs, ys})));
  // head(concat(u, v)) = u @ Wu^T + v @ Wv^T + b: each half of the head's weight sees one use.
  const Tensor wu = narrow(head->weight(), 1, 0, 2), wv = narrow(head->weight(), 1, 2, 2);
  const std::vector<double> first = grad_of(sum(matmul((*shared)(xs), transpose(wu, 0, 1))));
  const std::vector<double> second = grad_of(sum(matmul((*shared)(ys), transpose(wv, 0, 1))));
  ASSERT_EQ(both.size(), first.size());
  for (std::size_t i = 0; i < both.size(); ++i) EXPECT_NEAR(both[i], first[i] + second[i], 1e-12) << i;
}

// The same structure built in two different orders, with a dangling branch in one of them,
// gives the same steps and the same parameter names, so checkpoints move between the two.
TEST(Graph, TopologicalOrderDependsOnlyOnStructure) {
  auto build = [](bool reversed) {
    Sym x = Input({3}, "x", DType::Float64);
    auto left = linear64(3, 4, 1), right = linear64(3, 4, 2), head = linear64(8, 2, 3);
    Sym l, r;
    if (reversed) {
      r = call(right, x);
      call(linear64(4, 9, 4), r);  // never reaches the output: not part of the model
      l = call(left, x);
    } else {
      l = call(left, x);
      r = call(right, x);
    }
    // A diamond that reuses x at the end.
    Sym sum_branch = call(std::make_shared<Concatenate>(), {l, r});
    Sym out = call(head, sum_branch);
    return std::make_shared<GraphModel>(std::vector<Sym>{x}, std::vector<Sym>{out});
  };
  auto a = build(false), b = build(true);
  EXPECT_EQ(step_names(*a), step_names(*b));
  EXPECT_EQ(step_names(*a), (std::vector<std::string>{"x", "linear", "linear_1", "concatenate", "linear_2"}));
  EXPECT_EQ(parameter_names(*a), parameter_names(*b));
  expect_topological(*a);
  expect_topological(*b);
  b->load_state_dict(a->state_dict());
  Tensor x = random_leaf({5, 3}, 9).detach();
  EXPECT_EQ((*a)(x).to_vector(), (*b)(x).to_vector());
}

TEST(Graph, DeepChainDoesNotRecurse) {
  Sym x = Input({2}, "x");
  Sym h = x;
  auto relu = std::make_shared<Activation>(ActivationKind::Relu);
  for (int i = 0; i < 5000; ++i) h = call(relu, h);  // one shared layer, 5000 calls
  GraphModel model(x, h);
  EXPECT_EQ(model.steps().size(), 5001u);
  EXPECT_EQ(model.named_children().size(), 1u);
  expect_values(model(Tensor::from_vector(std::vector<double>{-1, 2}, {1, 2})), {0, 2});
}

TEST(Graph, InputShapeMismatchNamesTheInputAndBothShapes) {
  Sym seq = Input({3, 2}, "seq");
  GraphModel model(seq, call(std::make_shared<Flatten>(), seq));
  expect_error([&] { model(Tensor::zeros({4, 3, 5})); }, {"input 'seq'", "(None, 3, 2)", "[4, 3, 5]"});
  expect_error([&] { model(Tensor::zeros({3, 2})); }, {"input 'seq'", "(None, 3, 2)", "[3, 2]"});
  expect_error([&] { model(Tensor::zeros({4, 3, 2}, DType::Float64)); }, {"input 'seq'", "float32", "float64"});
  EXPECT_EQ(model(Tensor::zeros({4, 3, 2})).shape(), (Shape{4, 6}));
}

TEST(Graph, CorrectedFeedbackWiringGivesPerStepDistributions) {
  // The source document's feedback example with the shapes made consistent: the sequence is
  // summarised (Flatten), fed back by RepeatVector to every step, and joined with the sequence.
  const std::int64_t T = 6, F = 2, classes = 3;
  Sym seq = Input({T, F}, "seq");
  Sym summary = call(std::make_shared<Linear>(T * F, 8, ActivationKind::Relu), call(std::make_shared<Flatten>(), seq));
  Sym feedback = call(std::make_shared<RepeatVector>(T), summary);
  Sym joined = call(std::make_shared<Concatenate>(), {seq, feedback});
  Sym out = call(std::make_shared<Linear>(F + 8, classes, ActivationKind::Softmax), joined);
  EXPECT_EQ(out.shape(), (Shape{T, classes}));
  GraphModel model(seq, out);
  Tensor y = model(rand({5, T, F}));
  EXPECT_EQ(y.shape(), (Shape{5, T, classes}));
  expect_values(sum(y, {2}), std::vector<double>(5 * T, 1.0), 1e-5);
}

TEST(Graph, DocumentWiringFailsWhereItIsWritten) {
  // The document concatenates the [batch, 3] input with RepeatVector's [batch, 3, 5].
  Sym inputs = Input({3}, "inputs");
  Sym hidden = call(std::make_shared<Linear>(3, 5, ActivationKind::Relu), inputs);
  Sym feedback = call(std::make_shared<RepeatVector>(3), hidden);
  expect_error([&] { call(std::make_shared<Concatenate>(), {inputs, feedback}); },
               {"Concatenate", "(None, 3)", "(None, 3, 5)", "same rank"});
}

TEST(Graph, ApplyLeavesTrainingModeAsItWas) {
  auto dropout = std::make_shared<Dropout>(0.5);
  auto block = std::make_shared<Sequential>(Sequential{std::make_shared<Linear>(2, 2), dropout});
  block->train();
  dropout->eval();  // a child in another mode than its parent stays so
  call(block, Input({2}));
  EXPECT_TRUE(block->is_training());
  EXPECT_FALSE(dropout->is_training());
}

TEST(Graph, NamesAndConstructionErrors) {
  Sym x = Input({4}), y = Input({4});
  auto dense = std::make_shared<Linear>(4, 4);
  Sym h = call(dense, x, "encoder");
  GraphModel model({x, y}, {call(std::make_shared<Concatenate>(), {h, y})});
  EXPECT_EQ(step_names(model), (std::vector<std::string>{"input", "input_1", "encoder", "concatenate"}));
  expect_error([&] { model.layer("decoder"); }, {"no layer named 'decoder'", "encoder", "concatenate"});

  expect_error([&] { GraphModel({x}, {call(std::make_shared<Concatenate>(), {h, y})}); },
               {"depends on an unnamed Input of shape (None, 4)", "not among the model's inputs"});
  expect_error([&] { GraphModel({h}, {h}); }, {"input 0 is the output of Linear", "Input()"});
  expect_error([&] { GraphModel({x, x}, {h}); }, {"listed twice"});
  expect_error([&] { GraphModel({x}, {call(dense, h, "other")}); }, {"named both 'encoder' and 'other'"});
  expect_error([&] { GraphModel({x}, {call(std::make_shared<Linear>(4, 4), h, "encoder")}); },
               {"'encoder' is used twice"});
  expect_error([&] { call(dense, x, "a.b"); }, {"must not contain '.'"});
  expect_error([&] { call(dense, Sym()); }, {"Linear", "empty SymbolicTensor"});
  expect_error([&] { call(dense, Input({5}, "wide")); }, {"Linear cannot be called on inputs of shape (None, 5)",
                                                           "Linear(4 -> 4)"});
  expect_error([&] { Input({0, 3}, "bad"); }, {"Input 'bad'", "positive"});
}

}  // namespace
}  // namespace ouro::testing
