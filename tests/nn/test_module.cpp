#include "gradcheck.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/sequential.h"

namespace ouro::testing {
namespace {

std::shared_ptr<Sequential> small_net() {
  auto encoder = std::make_shared<Sequential>(Sequential{std::make_shared<Linear>(4, 8, ActivationKind::Relu),
                                                         std::make_shared<LayerNorm>(Shape{8})});
  return std::make_shared<Sequential>(Sequential{encoder, std::make_shared<Dropout>(0.5),
                                                 std::make_shared<Linear>(8, 3)});
}

TEST(Module, HierarchicalNamesAndCounts) {
  auto net = small_net();
  std::vector<std::string> names;
  for (auto& [name, t] : net->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "2.weight",
                                             "2.bias"}));
  EXPECT_EQ(net->parameter_count(), 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3);
  EXPECT_EQ(net->named_modules().size(), 5u);
}

TEST(Module, TrainEvalReachesChildren) {
  auto net = small_net();
  net->eval();
  for (auto& [name, m] : net->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  // Dropout is the identity in eval mode: two calls agree.
  Tensor x = rand({5, 4});
  EXPECT_EQ((*net)(x).to_vector(), (*net)(x).to_vector());
  net->train();
  EXPECT_TRUE((*net)[1]->is_training());
}

TEST(Module, StateDictRoundTripKeepsHandles) {
  auto a = small_net();
  auto b = small_net();
  Tensor handle = b->named_parameters()[0].second;
  b->load_state_dict(a->state_dict());
  EXPECT_EQ(handle.to_vector(), a->named_parameters()[0].second.to_vector());
  a->eval();
  b->eval();
  Tensor x = rand({2, 4});
  EXPECT_EQ((*a)(x).to_vector(), (*b)(x).to_vector());
}

TEST(Errors, LoadStateDictListsMissingUnexpectedAndMisshaped) {
  auto net = small_net();
  StateDict state = net->state_dict();
  state.erase("2.bias");
  state["extra.weight"] = Tensor::zeros({1});
  state["2.weight"] = Tensor::zeros({2, 2});
  expect_error([&] { net->load_state_dict(state); },
               {"missing tensors: 2.bias", "unexpected tensors: extra.weight", "2.weight (checkpoint [2, 2], model [3, 8])"});
  state["2.weight"] = Tensor::zeros({3, 8});
  net->load_state_dict(state, /*strict=*/false);  // non-strict ignores missing and unexpected
}

TEST(Module, FreezeAndUnfreezeByGlob) {
  auto net = small_net();
  EXPECT_EQ(net->freeze("0.*"), 4u);
  EXPECT_EQ(net->parameter_count(true), 8 * 3 + 3);
  Tensor loss = sum((*net)(rand({2, 4})));
  loss.backward();
  for (auto& [name, t] : net->named_parameters()) EXPECT_EQ(t.grad().defined(), name.rfind("2.", 0) == 0) << name;
  EXPECT_EQ(net->unfreeze("*.bias"), 3u);
  EXPECT_EQ(net->parameter_count(true), 8 * 3 + 3 + 8 + 8);
  expect_error([&] { net->freeze("decoder.*"); }, {"freeze", "decoder.*", "matches no parameter"});
  EXPECT_TRUE(Module::glob_match("h.*.attn.*", "h.11.attn.c_attn.weight"));
  EXPECT_FALSE(Module::glob_match("h.?.attn", "h.11.attn"));
}

TEST(Layers, LinearMatchesManualProductOnSequences) {
  Linear layer(LinearOptions{.in = 3, .out = 2, .bias = true, .activation = ActivationKind::None, .dtype = DType::Float64});
  Tensor x = random_leaf({2, 4, 3}, 5).detach();
  Tensor y = layer(x);
  EXPECT_EQ(y.shape(), (Shape{2, 4, 2}));
  const Tensor w = layer.weight(), b = layer.bias();
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t t = 0; t < 4; ++t)
      for (std::int64_t o = 0; o < 2; ++o) {
        double expected = b.at({o});
        for (std::int64_t k = 0; k < 3; ++k) expected += x.at({i, t, k}) * w.at({o, k});
        EXPECT_NEAR(y.at({i, t, o}), expected, 1e-12);
      }
  expect_error([&] { layer(Tensor::zeros({2, 5}, DType::Float64)); }, {"Linear(3 -> 2)", "last dimension 3", "[2, 5]"});
}

TEST(GradCheck, LinearLayer) {
  Linear layer(LinearOptions{.in = 3, .out = 4, .bias = true, .activation = ActivationKind::Tanh, .dtype = DType::Float64});
  expect_gradients_match([&](const auto& in) { return layer(in[0]); }, {random_leaf({2, 3}, 6)});
  // The layer's own parameters are the checked inputs: perturbing them changes what layer(x) reads.
  Tensor x = random_leaf({5, 3}, 7).detach();
  expect_gradients_match([&](const auto&) { return layer(x); }, {layer.weight(), layer.bias()});
}

TEST(Layers, RepeatVectorConcatenateTimeDistributed) {
  Tensor v = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, DType::Float64);
  Tensor r = RepeatVector(3)(v);
  EXPECT_EQ(r.shape(), (Shape{2, 3, 2}));
  expect_values(r, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  Tensor seq = Tensor::zeros({2, 3, 1}, DType::Float64);
  Tensor joined = Concatenate()(std::vector<Tensor>{seq, r});
  EXPECT_EQ(joined.shape(), (Shape{2, 3, 3}));
  auto td = TimeDistributed(std::make_shared<Linear>(LinearOptions{.in = 3, .out = 5, .dtype = DType::Float64}));
  EXPECT_EQ(td(joined).shape(), (Shape{2, 3, 5}));
  EXPECT_EQ(Flatten()(joined).shape(), (Shape{2, 9}));
  EXPECT_EQ(Reshape({9, 1})(joined).shape(), (Shape{2, 9, 1}));
}

TEST(GradCheck, RepeatVectorAndConcatenate) {
  expect_gradients_match(
      [](const auto& in) { return Concatenate()(std::vector<Tensor>{in[1], RepeatVector(3)(in[0])}); },
      {random_leaf({2, 4}, 10), random_leaf({2, 3, 2}, 11)});
}

TEST(Errors, SourceDocumentConcatenateShapeError) {
  // The source document concatenates the [batch, 3] input with RepeatVector's [batch, 3, 5].
  Tensor input = Tensor::zeros({4, 3});
  Tensor repeated = RepeatVector(3)(Tensor::zeros({4, 5}));
  expect_error([&] { Concatenate()(std::vector<Tensor>{input, repeated}); },
               {"Concatenate", "[4, 3]", "[4, 3, 5]", "same rank", "RepeatVector"});
}

}  // namespace
}  // namespace ouro::testing
