// LoRA: the fused lora_linear op against a PyTorch layer written by hand (values and every
// gradient) and against its unfused composition, a float64 finite-difference check of every
// input including the dropout path, merge / unmerge, apply_lora's targeting and freezing,
// training that moves only the adapter, and adapter files (round trip, refusals).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "fixture.h"
#include "gradcheck.h"
#include "ouro/nn/lora.h"
#include "ouro/ops/activation.h"
#include "ouro/ops/loss.h"
#include "ouro/optim/adam.h"

namespace ouro::testing {
namespace {

void expect_close(const Tensor& actual, const Tensor& expected, double tolerance, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const auto a = actual.to_vector(), e = expected.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], e[i], tolerance * (1 + std::abs(e[i]))) << what << " element " << i;
}

void set_values(Tensor& t, const Tensor& values) { t.copy_from_(values); }

TEST(LoraLinear, MatchesPyTorchReference) {
  const auto f = load_fixture("lora_fixtures.json");
  for (const auto& c : f["cases"]) {
    const Tensor weight = fixture_tensor(c["weight"]);
    const bool has_bias = c.contains("bias");
    Linear layer(LinearOptions{.in = weight.size(1), .out = weight.size(0), .bias = has_bias, .dtype = DType::Float64});
    layer.attach_lora(LoraOptions{.rank = c["rank"], .alpha = c["alpha"]});
    set_values(layer.weight(), weight);
    if (has_bias) set_values(layer.bias(), fixture_tensor(c["bias"]));
    set_values(layer.lora_A(), fixture_tensor(c["lora_A"]));
    set_values(layer.lora_B(), fixture_tensor(c["lora_B"]));
    Tensor x = fixture_tensor(c["input"]);
    x.set_requires_grad(true);
    const Tensor y = layer(x);
    expect_close(y, fixture_tensor(c["output"]), 1e-12, "output");
    y.backward(fixture_tensor(c["grad_output"]));
    expect_close(x.grad(), fixture_tensor(c["grad_input"]), 1e-12, "grad input");
    expect_close(layer.weight().grad(), fixture_tensor(c["grad_weight"]), 1e-12, "grad weight");
    if (has_bias) expect_close(layer.bias().grad(), fixture_tensor(c["grad_bias"]), 1e-12, "grad bias");
    expect_close(layer.lora_A().grad(), fixture_tensor(c["grad_lora_A"]), 1e-12, "grad lora_A");
    expect_close(layer.lora_B().grad(), fixture_tensor(c["grad_lora_B"]), 1e-12, "grad lora_B");
    layer.merge_lora();
    expect_close(layer.weight(), fixture_tensor(c["merged_weight"]), 1e-12, "merged weight");
  }
}

TEST(LoraLinear, GradientsMatchFiniteDifferences) {
  const double scale = 1.5;
  // Without dropout: the adapter reads x itself, so x's gradient has both paths.
  expect_gradients_match(
      [&](const std::vector<Tensor>& in) { return lora_linear(in[0], in[1], in[2], in[3], in[4], scale); },
      {random_leaf({2, 3, 5}, 1), random_leaf({4, 5}, 2), random_leaf({4}, 3), random_leaf({3, 5}, 4),
       random_leaf({4, 3}, 5)});
  // With a separate adapter input (dropout's output): a fixed mask keeps it differentiable.
  Generator gen(9);
  const Tensor mask = bernoulli({2, 3, 5}, 0.7, DType::Float64, &gen) * (1 / 0.7);
  expect_gradients_match(
      [&](const std::vector<Tensor>& in) {
        return lora_linear(in[0], in[1], Tensor(), in[2], in[3], scale, in[0] * mask);
      },
      {random_leaf({2, 3, 5}, 6), random_leaf({4, 5}, 7), random_leaf({2, 5}, 8), random_leaf({4, 2}, 9)});
}

TEST(LoraLinear, FusedEqualsComposition) {
  const Tensor x = random_leaf({6, 7}, 11), w = random_leaf({5, 7}, 12), b = random_leaf({5}, 13);
  const Tensor a = random_leaf({3, 7}, 14), bb = random_leaf({5, 3}, 15);
  Generator gen(3);
  const Tensor g = rand({6, 5}, 0.5, 1.5, DType::Float64, &gen);
  lora_linear(x, w, b, a, bb, 0.75).backward(g);
  std::vector<Tensor> fused;
  for (Tensor t : {x, w, b, a, bb}) {
    fused.push_back(t.grad());
    t.zero_grad();
  }
  const Tensor composed = add(linear(x, w, b), mul(linear(linear(x, a), bb), 0.75));
  composed.backward(g);
  expect_close(lora_linear(x, w, b, a, bb, 0.75), composed, 1e-13, "output");
  const std::vector<Tensor> inputs{x, w, b, a, bb};
  for (std::size_t i = 0; i < inputs.size(); ++i)
    expect_close(fused[i], inputs[i].grad(), 1e-13, "gradient of input " + std::to_string(i));
}

TEST(LoraLinear, AttachStartsAsIdentityWithPeftInit) {
  Generator gen(4);
  Linear layer(LinearOptions{.in = 64, .out = 10, .generator = &gen});
  const Tensor x = rand({3, 64}, -1, 1, DType::Float32, &gen);
  const Tensor before = layer(x).detach().copy();
  layer.attach_lora(LoraOptions{.rank = 4, .alpha = 8, .generator = &gen});
  EXPECT_EQ(layer.lora_A().shape(), (Shape{4, 64}));
  EXPECT_EQ(layer.lora_B().shape(), (Shape{10, 4}));
  for (const double v : layer.lora_B().to_vector()) EXPECT_EQ(v, 0.0);
  // kaiming_uniform(a = sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)), and not all tiny.
  double largest = 0;
  for (const double v : layer.lora_A().to_vector()) {
    EXPECT_LE(std::abs(v), 1 / 8.0);
    largest = std::max(largest, std::abs(v));
  }
  EXPECT_GT(largest, 0.1);
  EXPECT_EQ(layer(x).to_vector(), before.to_vector());
  EXPECT_DOUBLE_EQ(layer.lora_scale(), 2.0);
  expect_error([&] { layer.attach_lora({}); }, {"already attached"});
  expect_error([] { Linear(3, 2).attach_lora(LoraOptions{.rank = 0}); }, {"rank must be positive"});
  expect_error([] { Linear(3, 2).attach_lora(LoraOptions{.rank = 1, .alpha = NAN}); }, {"alpha", "finite", "nan"});
  expect_error([] { Linear(3, 2).attach_lora(LoraOptions{.rank = 1, .alpha = INFINITY}); }, {"alpha", "finite"});
}

TEST(LoraLinear, MergedMatchesUnmerged) {
  Generator gen(5);
  Linear layer(LinearOptions{.in = 48, .out = 32, .generator = &gen});
  layer.attach_lora(LoraOptions{.rank = 4, .alpha = 8, .generator = &gen});
  layer.lora_B().copy_from_(rand({32, 4}, -0.5, 0.5, DType::Float32, &gen));
  layer.eval();
  const Tensor x = rand({16, 48}, -1, 1, DType::Float32, &gen);
  const std::vector<double> weight = layer.weight().to_vector();
  const std::vector<double> unmerged = layer(x).to_vector();
  layer.merge_lora();
  EXPECT_TRUE(layer.lora_merged());
  const std::vector<double> merged = layer(x).to_vector();
  // float32: the two paths round differently (x W'^T with W' = W + s B A rounded once per
  // weight, against x W^T + s (x A^T) B^T), each a sum of ~50 products of values below 1 in
  // magnitude; 1e-5 relative is a few ulps of float32 times that depth, far below any
  // difference a wrong merge would make (the adapter term here is O(0.1)).
  for (std::size_t i = 0; i < merged.size(); ++i) EXPECT_NEAR(merged[i], unmerged[i], 1e-5 * (1 + std::abs(unmerged[i])));
  expect_error([&] { layer.merge_lora(); }, {"already merged"});
  layer.unmerge_lora();
  const std::vector<double> restored = layer.weight().to_vector();
  for (std::size_t i = 0; i < weight.size(); ++i) EXPECT_NEAR(restored[i], weight[i], 1e-6);
  expect_error([&] { layer.unmerge_lora(); }, {"no merged LoRA adapter"});
}

TEST(LoraLinear, DropoutOnlyInTrainingAndSeeded) {
  auto run = [](bool training) {
    Generator gen(6);
    Linear layer(LinearOptions{.in = 8, .out = 4, .generator = &gen});
    layer.attach_lora(LoraOptions{.rank = 2, .alpha = 2, .dropout = 0.5, .generator = &gen});
    layer.lora_B().copy_from_(rand({4, 2}, -1, 1, DType::Float32, &gen));
    layer.train(training);
    const Tensor x = rand({5, 8}, -1, 1, DType::Float32, &gen);
    Tensor expected = linear(x, layer.weight(), layer.bias());
    return std::pair{layer(x).to_vector(), add(expected, mul(linear(linear(x, layer.lora_A()), layer.lora_B()), 1.0))
                                               .to_vector()};
  };
  const auto [eval_out, eval_expected] = run(false);
  for (std::size_t i = 0; i < eval_out.size(); ++i) EXPECT_NEAR(eval_out[i], eval_expected[i], 1e-5);
  const auto [train_a, unused_a] = run(true);
  const auto [train_b, unused_b] = run(true);
  EXPECT_EQ(train_a, train_b);      // same generator state, same masks
  EXPECT_NE(train_a, eval_out);     // dropout changed the adapter's input
}

// Two "blocks" with GPT-2's projection names and a head, for targeting by name.
class Block : public Module {
 public:
  explicit Block(Generator* gen) {
    c_attn = register_module("c_attn", std::make_shared<Linear>(LinearOptions{.in = 6, .out = 6, .generator = gen}));
    c_proj = register_module("c_proj", std::make_shared<Linear>(LinearOptions{.in = 6, .out = 6, .generator = gen}));
  }
  std::string type_name() const override { return "Block"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override { return add(x, (*c_proj)(tanh(c_attn->forward(x)))); }
  std::shared_ptr<Linear> c_attn, c_proj;
};

class TinyNet : public Module {
 public:
  explicit TinyNet(std::uint64_t seed) : gen(seed) {
    h0 = register_module("h0", std::make_shared<Block>(&gen));
    h1 = register_module("h1", std::make_shared<Block>(&gen));
    head = register_module("head", std::make_shared<Linear>(LinearOptions{.in = 6, .out = 3, .generator = &gen}));
  }
  std::string type_name() const override { return "TinyNet"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override { return (*head)((*h1)((*h0)(x))); }
  Generator gen;
  std::shared_ptr<Block> h0, h1;
  std::shared_ptr<Linear> head;
};

TEST(ApplyLora, TargetsByNameAndFreezesTheRest) {
  TinyNet net(1);
  const std::int64_t base = net.parameter_count();
  const auto adapted = apply_lora(net, LoraOptions{.rank = 2, .alpha = 4, .generator = &net.gen}, {"c_attn", "h1.c_proj"});
  EXPECT_EQ(adapted, (std::vector<std::string>{"h0.c_attn", "h1.c_attn", "h1.c_proj"}));
  std::vector<std::string> trainable;
  for (const auto& [name, t] : net.named_parameters(true)) trainable.push_back(name);
  EXPECT_EQ(trainable, (std::vector<std::string>{"h0.c_attn.lora_A", "h0.c_attn.lora_B", "h1.c_attn.lora_A",
                                                 "h1.c_attn.lora_B", "h1.c_proj.lora_A", "h1.c_proj.lora_B"}));
  const ParameterCounts counts = count_parameters(net);
  EXPECT_EQ(counts.trainable, 3 * (2 * 6 + 6 * 2));
  EXPECT_EQ(counts.total, base + counts.trainable);
  EXPECT_EQ(describe_parameter_counts(ParameterCounts{12288, 1206528}), "trainable 12,288 of 1,206,528 parameters (1.02%)");
  expect_error([&] { apply_lora(net, {}, {"c_fc"}); }, {"target 'c_fc' matches no Linear", "h0.c_attn", "head"});
  expect_error([&] { apply_lora(net, {}, {"h0.*"}); }, {"'h0.c_attn' already has a LoRA adapter"});
}

TEST(ApplyLora, TrainingMovesOnlyTheAdapter) {
  TinyNet net(2);
  apply_lora(net, LoraOptions{.rank = 2, .alpha = 4, .dropout = 0.1, .generator = &net.gen}, {"c_attn", "c_proj"});
  StateDict before;
  for (const auto& [name, t] : net.state_dict()) before[name] = t.detach().copy();
  Adam adam(net.parameters(true), AdamOptions{.lr = 0.02});
  Generator data(7);
  const Tensor x = rand({32, 6}, -1, 1, DType::Float32, &data);
  const Tensor y = rand({32, 3}, -1, 1, DType::Float32, &data);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    adam.zero_grad();
    const Tensor loss = mse_loss(net(x), y);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  EXPECT_LT(last, first * 0.9);
  for (const auto& [name, t] : net.state_dict()) {
    if (is_lora_parameter(name)) {
      if (name.ends_with("lora_B")) {
        EXPECT_NE(t.to_vector(), before.at(name).to_vector()) << name;
      }
    } else {
      EXPECT_EQ(t.to_vector(), before.at(name).to_vector()) << name << " is frozen but changed";
      EXPECT_FALSE(t.grad().defined()) << name;
    }
  }
}

TEST(LoraAdapter, SaveLoadMergeAndRefusals) {
  const std::string dir = ::testing::TempDir() + "/ouro_lora_adapter";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/adapter.safetensors";

  TinyNet trained(3);
  const std::string base_hash = base_weights_sha256(trained);
  EXPECT_EQ(base_hash.size(), 64u);
  apply_lora(trained, LoraOptions{.rank = 2, .alpha = 3, .dropout = 0.05, .generator = &trained.gen}, {"c_*"});
  EXPECT_EQ(base_weights_sha256(trained), base_hash);  // adapters are not part of the base
  for (auto& [p, linear] : lora_layers(trained)) linear->lora_B().copy_from_(rand(linear->lora_B().shape(), -1, 1, DType::Float32, &trained.gen));
  save_lora_adapter(path, trained, LoraAdapterInfo{.targets = {"c_*"}, .base_sha256 = base_hash, .extra = {{"note", "\"x\""}}});

  const LoraAdapterInfo info = read_lora_adapter_info(path);
  EXPECT_EQ(info.options.rank, 2);
  EXPECT_EQ(info.options.alpha, 3.0);
  EXPECT_EQ(info.options.dropout, 0.05);
  EXPECT_EQ(info.targets, std::vector<std::string>{"c_*"});
  EXPECT_EQ(info.modules.size(), 4u);
  EXPECT_EQ(info.base_sha256, base_hash);
  EXPECT_EQ(info.extra.at("note"), "\"x\"");
  // Only the adapter is in the file.
  EXPECT_EQ(load_safetensors(path).tensors.size(), 8u);

  TinyNet fresh(3);  // same seed: the same base weights
  load_lora_adapter(path, fresh);
  trained.eval();
  fresh.eval();
  Generator gen(8);
  const Tensor x = rand({4, 6}, -1, 1, DType::Float32, &gen);
  EXPECT_EQ(fresh(x).to_vector(), trained(x).to_vector());

  // The merged export: a plain model with the folded weights gives the same logits.
  TinyNet plain(99);
  plain.load_state_dict(merged_state_dict(fresh));
  const auto unmerged = fresh(x).to_vector(), exported = plain(x).to_vector();
  for (std::size_t i = 0; i < exported.size(); ++i) EXPECT_NEAR(exported[i], unmerged[i], 1e-5 * (1 + std::abs(unmerged[i])));
  merge_lora(fresh);
  const auto merged = fresh(x).to_vector();
  EXPECT_EQ(merged, exported);  // the same float32 weights, the same plain linear path

  TinyNet other(4);  // different base weights
  expect_error([&] { load_lora_adapter(path, other); }, {path, "trained on base weights with SHA-256 " + base_hash});
  TinyNet wrong_rank(3);
  apply_lora(wrong_rank, LoraOptions{.rank = 3}, {"c_*"});
  expect_error([&] { load_lora_adapter(path, wrong_rank); }, {path, "h0.c_attn.lora_A is [2, 6] in the file, [3, 6] in the model"});
  save_lora_adapter(dir + "/not_an_adapter.safetensors", trained, LoraAdapterInfo{.base_sha256 = "x"});
  save_safetensors(dir + "/plain.safetensors", {{"w", Tensor::zeros({2})}});
  expect_error([&] { read_lora_adapter_info(dir + "/plain.safetensors"); }, {"not an ouro LoRA adapter"});
  expect_error([&] { save_lora_adapter(dir + "/none.safetensors", other, LoraAdapterInfo{.base_sha256 = "x"}); },
               {"has no LoRA adapter"});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ouro::testing
