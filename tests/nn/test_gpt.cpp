// Gpt: logits and every parameter gradient against the PyTorch reference of
// tests/fixtures/gen_gpt_fixtures.py, a float64 gradient check of the whole model, the Hugging
// Face layout import, the KV cache against the full forward, initialisation, config round trip
// and the errors a user meets.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "fixture.h"
#include "gradcheck.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/gpt.h"
#include "ouro/nn/gpt_hf.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/adam.h"

namespace ouro::testing {
namespace {

GptConfig config_of(const nlohmann::json& c, DType dtype) {
  GptConfig config;
  config.vocab_size = c["vocab_size"];
  config.context = c["context"];
  config.width = c["width"];
  config.layers = c["layers"];
  config.heads = c["heads"];
  config.tied_head = c["tied_head"];
  config.gelu = c["gelu"] == "tanh" ? GeluApproximation::Tanh : GeluApproximation::None;
  config.dtype = dtype;
  return config;
}

// |actual - expected| <= rtol * (|expected| + max |expected| of the tensor): relative to each
// element, with the tensor's scale as the floor for elements near zero.
void expect_relative(const Tensor& actual, const Tensor& expected, double rtol, const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  const auto a = actual.to_vector(), e = expected.to_vector();
  double scale = 0;
  for (double v : e) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], e[i], rtol * (std::abs(e[i]) + scale)) << what << " element " << i;
}

void check_against_torch(const nlohmann::json& f, DType dtype, double rtol) {
  Gpt model(config_of(f["config"], dtype));
  StateDict weights;
  for (const auto& [name, t] : f["weights"].items()) weights[name] = fixture_tensor(t, dtype);
  model.load_state_dict(weights);  // strict: the names are exactly the reference's
  const Tensor tokens = fixture_tensor(f["tokens"], DType::Int64);
  const Tensor targets = fixture_tensor(f["targets"], DType::Int64);
  const Tensor logits = model.forward(tokens);
  expect_relative(logits, fixture_tensor(f["logits"]), rtol, "logits");
  const Tensor loss = cross_entropy(logits, targets);
  EXPECT_NEAR(loss.item(), f["loss"].get<double>(), rtol * std::abs(f["loss"].get<double>()));
  loss.backward();
  std::size_t checked = 0;
  for (const auto& [name, p] : model.named_parameters()) {
    ASSERT_TRUE(f["gradients"].contains(name)) << name;
    ASSERT_TRUE(p.grad().defined()) << name << " received no gradient";
    expect_relative(p.grad(), fixture_tensor(f["gradients"][name]), rtol, name + " gradient");
    ++checked;
  }
  EXPECT_EQ(checked, f["gradients"].size());
}

TEST(Gpt, LogitsAndEveryGradientMatchPyTorchInFloat32) {
  const auto fixture = load_fixture("gpt_fixtures.json");
  for (const auto& f : fixture["cases"]) {
    SCOPED_TRACE(f["name"].get<std::string>());
    check_against_torch(f, DType::Float32, 1e-4);
  }
}

TEST(Gpt, LogitsAndEveryGradientMatchPyTorchInFloat64) {
  const auto fixture = load_fixture("gpt_fixtures.json");
  for (const auto& f : fixture["cases"]) {
    SCOPED_TRACE(f["name"].get<std::string>());
    check_against_torch(f, DType::Float64, 1e-10);
  }
}

GptConfig tiny(bool tied, GeluApproximation gelu) {
  GptConfig c;
  c.vocab_size = 5;
  c.context = 4;
  c.width = 4;
  c.layers = 2;
  c.heads = 2;
  c.mlp_ratio = 2;
  c.tied_head = tied;
  c.gelu = gelu;
  c.seed = 7;
  c.dtype = DType::Float64;
  return c;
}

TEST(Gpt, GradientCheckOfTheWholeModelInFloat64) {
  for (bool tied : {true, false}) {
    SCOPED_TRACE(tied ? "tied" : "untied");
    Gpt model(tiny(tied, tied ? GeluApproximation::Tanh : GeluApproximation::None));
    // GPT-2's 0.02 init leaves the attention nearly uniform; larger weights exercise it.
    Generator gen(11);
    for (Tensor& p : model.parameters()) normal_(p, 0.0, 0.5, &gen);
    const Tensor tokens = Tensor::from_indices({0, 3, 4, 1, 2, 2, 0, 4}, {2, 4});
    expect_gradients_match([&](const std::vector<Tensor>&) { return model.forward(tokens); }, model.parameters());
  }
}

TEST(Gpt, ParameterNamesFollowHuggingFaceAndProjectionsAreLinearModules) {
  GptConfig c = tiny(true, GeluApproximation::Tanh);
  Gpt model(c);
  std::set<std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.insert(name);
  std::set<std::string> expected{"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"};
  for (int i = 0; i < 2; ++i)
    for (const char* n : {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                          "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                          "mlp.c_proj.weight", "mlp.c_proj.bias"})
      expected.insert("h." + std::to_string(i) + "." + n);
  EXPECT_EQ(names, expected);
  std::set<std::string> linears;
  for (const auto& [name, module] : model.named_modules())
    if (module->type_name() == "Linear") linears.insert(name);
  EXPECT_EQ(linears, (std::set<std::string>{"h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", "h.0.mlp.c_proj",
                                            "h.1.attn.c_attn", "h.1.attn.c_proj", "h.1.mlp.c_fc", "h.1.mlp.c_proj"}));
  EXPECT_EQ(model.blocks(), 2);

  c.tied_head = false;
  Gpt untied(c);
  EXPECT_EQ(untied.parameter_count(), model.parameter_count() + c.vocab_size * c.width);
  EXPECT_EQ(untied.state_dict().count("lm_head.weight"), 1u);
}

TEST(Gpt, ParameterCountIsTheFormula) {
  GptConfig c;  // the bench workload: V 256, context 128, width 128, 4 layers
  Gpt model(c);
  const std::int64_t W = c.width, V = c.vocab_size, C = c.context, L = c.layers;
  const std::int64_t block = 2 * 2 * W + (W * 3 * W + 3 * W) + (W * W + W) + (W * 4 * W + 4 * W) + (4 * W * W + W);
  EXPECT_EQ(model.parameter_count(), V * W + C * W + L * block + 2 * W);
  EXPECT_NE(model.describe().find("4 layers, 4 heads, width 128"), std::string::npos) << model.describe();
}

double stddev(const Tensor& t) {
  const auto v = t.to_vector();
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

TEST(Gpt, InitialisationIsGpt2s) {
  GptConfig c;
  c.layers = 8;
  c.seed = 3;
  Gpt model(c);
  const double residual = 0.02 / std::sqrt(16.0);
  for (const auto& [name, p] : model.named_parameters()) {
    SCOPED_TRACE(name);
    if (name.find("ln_") != std::string::npos) {
      const double expected = name.ends_with(".weight") ? 1.0 : 0.0;
      for (double x : p.to_vector()) ASSERT_EQ(x, expected);
    } else if (name.ends_with(".bias")) {
      for (double x : p.to_vector()) ASSERT_EQ(x, 0.0);
    } else {
      const double expected = name.ends_with("c_proj.weight") ? residual : 0.02;
      EXPECT_NEAR(stddev(p), expected, 0.1 * expected);
    }
  }
  // Same seed, same weights; another seed, other weights.
  Gpt again(c);
  EXPECT_EQ(model.state_dict().at("h.3.mlp.c_fc.weight").to_vector(),
            again.state_dict().at("h.3.mlp.c_fc.weight").to_vector());
  c.seed = 4;
  Gpt other(c);
  EXPECT_NE(model.state_dict().at("wte.weight").to_vector(), other.state_dict().at("wte.weight").to_vector());
}

TEST(Gpt, ConfigJsonRebuildsTheModel) {
  GptConfig c = tiny(false, GeluApproximation::None);
  c.dropout_attn = 0.25;
  c.dropout_embd = 0.125;
  c.dropout_resid = 0.5;
  c.layer_norm_eps = 1e-6;
  Gpt model(c);
  auto rebuilt = Gpt::from_config_json(model.config_json());
  EXPECT_EQ(rebuilt->config_json(), model.config_json());
  EXPECT_EQ(rebuilt->config().heads, 2);
  EXPECT_FALSE(rebuilt->config().tied_head);
  EXPECT_EQ(rebuilt->config().gelu, GeluApproximation::None);
  EXPECT_EQ(rebuilt->config().dtype, DType::Float64);
  EXPECT_EQ(rebuilt->state_dict().at("h.1.attn.c_attn.weight").to_vector(),
            model.state_dict().at("h.1.attn.c_attn.weight").to_vector());  // same seed
  // Missing keys keep the defaults; bad ones are named.
  EXPECT_EQ(GptConfig::from_json(R"({"width": 64, "heads": 2})").layers, GptConfig{}.layers);
  expect_error([] { GptConfig::from_json(R"({"widht": 64})"); }, {"unknown key 'widht'"});
  expect_error([] { GptConfig::from_json(R"({"layers": "four"})"); }, {"'layers'", "integer"});
  expect_error([] { GptConfig::from_json("[1]"); }, {"JSON object"});
}

TEST(Gpt, ErrorsNameTheProblem) {
  GptConfig c = tiny(true, GeluApproximation::Tanh);
  c.heads = 3;
  expect_error([&] { Gpt bad(c); }, {"heads (3)", "divide width (4)"});
  c = tiny(true, GeluApproximation::Tanh);
  c.dropout_attn = 1.0;
  expect_error([&] { Gpt bad(c); }, {"dropout_attn", "[0, 1)"});
  Gpt model(tiny(true, GeluApproximation::Tanh));
  expect_error([&] { model.forward(Tensor::from_indices({0, 5}, {1, 2})); },
               {"token id 5", "position 1", "vocabulary [0, 5)"});
  expect_error([&] { model.forward(Tensor::from_indices({0, -1}, {1, 2})); }, {"token id -1"});
  expect_error([&] { model.forward(Tensor::from_indices({0, 1, 2, 3, 4}, {1, 5})); },
               {"5 tokens", "context of 4"});
  expect_error([&] { model.forward(Tensor::zeros({1, 2})); }, {"int64 token ids [batch, time]", "float32"});
  expect_error([&] { model.forward(Tensor::from_indices({0, 1}, {2})); }, {"[batch, time]", "[2]"});
  KvCache cache;
  model.forward_cached(Tensor::from_indices({0, 1, 2}, {1, 3}), cache);
  expect_error([&] { model.forward_cached(Tensor::from_indices({0, 1}, {1, 2}), cache); },
               {"5 tokens", "context of 4", "reset the cache"});
  expect_error([&] { model.forward_cached(Tensor::from_indices({0, 1}, {2, 1}), cache); }, {"batch"});
}

TEST(Gpt, ImportsTheHuggingFaceLayout) {
  const auto fixture = load_fixture("gpt_fixtures.json");
  const auto& f = fixture["cases"][0];
  SafetensorsFile file = load_safetensors(std::string(OURO_FIXTURE_DIR) + "/gpt_hf_layout.safetensors");
  ASSERT_EQ(file.tensors.count("transformer.h.0.attn.c_attn.weight"), 1u);
  EXPECT_EQ(file.tensors.at("transformer.h.0.attn.c_attn.weight").shape(), (Shape{12, 36}));  // Conv1D [in, out]
  auto model = gpt_from_hf(file.tensors, 3);
  EXPECT_EQ(model->config().vocab_size, 11);
  EXPECT_EQ(model->config().context, 8);
  EXPECT_EQ(model->config().width, 12);
  EXPECT_EQ(model->config().layers, 2);
  EXPECT_TRUE(model->config().tied_head);
  const Tensor tokens = fixture_tensor(f["tokens"], DType::Int64);
  model->eval();
  expect_relative(model->forward(tokens), fixture_tensor(f["hf_logits"]), 1e-5, "logits from the HF layout");

  // Without the "transformer." prefix (a GPT2Model state) and without lm_head: the same model.
  StateDict bare;
  for (const auto& [name, t] : file.tensors)
    if (name != "lm_head.weight") bare[name.substr(name.rfind("transformer.", 0) == 0 ? 12 : 0)] = t;
  auto same = gpt_from_hf(bare, 3);
  EXPECT_EQ(same->forward(tokens).to_vector(), model->forward(tokens).to_vector());

  // An untied head is recognised; a missing block tensor is named.
  StateDict untied = file.tensors;
  untied["lm_head.weight"] = mul(file.tensors.at("transformer.wte.weight"), 2.0);
  EXPECT_FALSE(gpt_config_from_hf(untied, 3).tied_head);
  EXPECT_EQ(gpt_from_hf(untied, 3)->state_dict().count("lm_head.weight"), 1u);
  StateDict missing = file.tensors;
  missing.erase("transformer.h.1.mlp.c_fc.bias");
  expect_error([&] { gpt_from_hf(missing, 3); }, {"missing tensors", "h.1.mlp.c_fc.bias"});
  expect_error([&] { gpt_from_hf(file.tensors, 5); }, {"heads (5)", "width (12)"});
  expect_error([&] { gpt_from_hf(StateDict{}, 3); }, {"wte.weight", "GPT-2"});
}

Tensor slice_time(const Tensor& t, std::int64_t start, std::int64_t length) { return narrow(t, 1, start, length); }

TEST(Gpt, CachedLogitsEqualTheFullForward) {
  GptConfig c;
  c.vocab_size = 13;
  c.context = 16;
  c.width = 16;
  c.layers = 3;
  c.heads = 4;
  c.seed = 5;
  Gpt model(c);
  Generator gen(2);
  for (Tensor& p : model.parameters()) normal_(p, 0.0, 0.3, &gen);  // sharper attention than the init's
  model.eval();
  const Tensor tokens = randint({2, 16}, 13, &gen);
  const Tensor full = model.forward(tokens);

  // One token at a time.
  KvCache cache = model.make_cache();
  for (std::int64_t t = 0; t < 16; ++t) {
    const Tensor step = model.forward_cached(slice_time(tokens, t, 1), cache);
    expect_relative(step, slice_time(full, t, 1), 1e-5, "token " + std::to_string(t));
  }
  EXPECT_EQ(cache.length, 16);

  // A prompt chunk, then tokens, then another chunk.
  cache.reset();
  expect_relative(model.forward_cached(slice_time(tokens, 0, 7), cache), slice_time(full, 0, 7), 1e-5, "prompt");
  expect_relative(model.forward_cached(slice_time(tokens, 7, 1), cache), slice_time(full, 7, 1), 1e-5, "token 7");
  expect_relative(model.forward_cached(slice_time(tokens, 8, 8), cache), slice_time(full, 8, 8), 1e-5, "chunk");

  // The cached path is inference: no graph, and it leaves a training model in training mode.
  model.train();
  KvCache other;
  const Tensor logits = model.forward_cached(slice_time(tokens, 0, 3), other);
  EXPECT_FALSE(logits.requires_grad());
  EXPECT_TRUE(model.is_training());
}

TEST(Gpt, TokenViewsGiveTheSameLogitsAsContiguousTokens) {
  Gpt model(tiny(true, GeluApproximation::Tanh));
  const Tensor rows = Tensor::from_indices({0, 1, 2, 3, 4, 4, 3, 2, 1, 0}, {2, 5});
  const Tensor view = narrow(rows, 1, 1, 4);  // a strided window, as a loader slices a token file
  ASSERT_FALSE(view.is_contiguous());
  EXPECT_EQ(model.forward(view).to_vector(), model.forward(contiguous(view)).to_vector());
  KvCache cache;
  expect_relative(model.forward_cached(view, cache), model.forward(contiguous(view)), 1e-12, "cached");
}

TEST(Gpt, DropoutIsSeededAndOffInEval) {
  GptConfig c = tiny(true, GeluApproximation::Tanh);
  c.dtype = DType::Float32;
  c.dropout_embd = c.dropout_attn = c.dropout_resid = 0.3;
  Gpt a(c), b(c);
  const Tensor tokens = Tensor::from_indices({0, 3, 4, 1}, {1, 4});
  const auto first = a.forward(tokens).to_vector();
  EXPECT_EQ(first, b.forward(tokens).to_vector());       // same seed: same masks
  EXPECT_NE(first, a.forward(tokens).to_vector());       // the next masks differ
  a.eval();
  EXPECT_EQ(a.forward(tokens).to_vector(), a.forward(tokens).to_vector());
}

}  // namespace
}  // namespace ouro::testing

namespace ouro::testing {
namespace {

// 40 AdamW steps on a repeating sequence: the loss falls far, and a second run from the same
// seed (dropout on) gives bit-identical losses.
std::vector<double> train_losses(std::uint64_t seed) {
  GptConfig c;
  c.vocab_size = 12;
  c.context = 16;
  c.width = 16;
  c.layers = 2;
  c.heads = 2;
  c.dropout_embd = c.dropout_attn = c.dropout_resid = 0.1;
  c.seed = seed;
  Gpt model(c);
  AdamW optimizer(model.parameters(), AdamWOptions{.lr = 1e-2, .weight_decay = 0.0});
  std::vector<std::int64_t> ids(2 * 17);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>((i * 5 + i / 17) % 12);
  const Tensor batch = Tensor::from_indices(ids, {2, 17});
  const Tensor inputs = contiguous(narrow(batch, 1, 0, 16)), targets = contiguous(narrow(batch, 1, 1, 16));
  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(model.forward(inputs), targets);
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item());
  }
  return losses;
}

TEST(Gpt, TrainsAndIsBitForBitReproducible) {
  const auto a = train_losses(5);
  EXPECT_GT(a.front(), 2.0);  // about log(12) = 2.48 at the start
  EXPECT_LT(a.back(), 0.5 * a.front());
  EXPECT_EQ(a, train_losses(5));
  EXPECT_NE(a, train_losses(6));
}

}  // namespace
}  // namespace ouro::testing
