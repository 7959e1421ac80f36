// PyTorch parity of SimpleRNN / LSTM / GRU: outputs, final states and every gradient against
// tests/fixtures/recurrent_fixtures.json (written by gen_recurrent_fixtures.py with
// torch.nn.RNN / LSTM / GRU), and weight exchange with torch through safetensors by name.
//
// Tolerance rule: |ours - torch| <= tol * (1 + |torch|) elementwise, with tol = 1e-5 for an
// ouro float32 run and 1e-8 for an ouro float64 run (torch computed in float64 from the same
// float32-exact weights and inputs; the fixture holds 10 significant digits).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <unistd.h>

#include "../fixture.h"
#include "../gradcheck.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/recurrent.h"

namespace ouro::testing {
namespace {

const nlohmann::json& fixtures() {
  static const nlohmann::json j = load_fixture("recurrent_fixtures.json");
  return j;
}

// Fixture inputs are float32 values written with 9 digits: rounding through float32 recovers
// them exactly, in either dtype.
Tensor exact(const nlohmann::json& j, DType dtype) { return fixture_tensor(j, DType::Float32).to(dtype); }

std::shared_ptr<RecurrentLayer> layer_for(const nlohmann::json& c, DType dtype) {
  RecurrentOptions o;
  o.input_size = c.at("x").at("shape").back().get<std::int64_t>();
  o.hidden_size = c.at("h_n").at("shape").back().get<std::int64_t>();
  o.num_layers = c.at("num_layers").get<std::int64_t>();
  o.bidirectional = c.at("bidirectional").get<bool>();
  o.batch_first = c.at("batch_first").get<bool>();
  o.bias = c.at("bias").get<bool>();
  o.dtype = dtype;
  const std::string cell = c.at("cell");
  if (cell == "lstm") return std::make_shared<LSTM>(o);
  if (cell == "gru") return std::make_shared<GRU>(o);
  o.nonlinearity = cell == "rnn_relu" ? ActivationKind::Relu : ActivationKind::Tanh;
  return std::make_shared<SimpleRNN>(o);
}

void expect_close(const Tensor& got, const nlohmann::json& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), want.at("shape").get<Shape>()) << what;
  const std::vector<double> g = got.to_vector();
  const std::vector<double> w = want.at("data").get<std::vector<double>>();
  for (std::size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(g[i], w[i], tol * (1 + std::abs(w[i]))) << what << ", element " << i;
}

void check_case(const nlohmann::json& c, DType dtype, double tol) {
  SCOPED_TRACE(c.at("name").get<std::string>() + (dtype == DType::Float32 ? " (float32)" : " (float64)"));
  auto layer = layer_for(c, dtype);
  StateDict state;
  for (const auto& [name, value] : c.at("parameters").items()) state[name] = exact(value, dtype);
  layer->load_state_dict(state);

  Tensor x = exact(c.at("x"), dtype);
  x.set_requires_grad(true);
  RecurrentState initial;
  if (c.contains("h0")) initial.h = exact(c.at("h0"), dtype).set_requires_grad(true);
  if (c.contains("c0")) initial.c = exact(c.at("c0"), dtype).set_requires_grad(true);
  Tensor lengths;
  if (!c.at("lengths").is_null()) {
    const auto l = c.at("lengths").get<std::vector<std::int64_t>>();
    lengths = Tensor::from_indices(l, {static_cast<std::int64_t>(l.size())});
  }
  const RecurrentOutput out = layer->forward(x, initial, lengths);
  expect_close(out.output, c.at("output"), tol, "output");
  expect_close(out.state.h, c.at("h_n"), tol, "h_n");
  Tensor loss = add(sum(mul(out.output, exact(c.at("w_out"), dtype))), sum(mul(out.state.h, exact(c.at("w_h"), dtype))));
  if (c.contains("c_n")) {
    expect_close(out.state.c, c.at("c_n"), tol, "c_n");
    loss = add(loss, sum(mul(out.state.c, exact(c.at("w_c"), dtype))));
  }
  EXPECT_NEAR(loss.item(), c.at("loss").get<double>(), tol * (1 + std::abs(c.at("loss").get<double>())));
  loss.backward();
  const auto& grads = c.at("grad");
  for (const auto& [name, p] : layer->named_parameters()) expect_close(p.grad(), grads.at(name), tol, "grad " + name);
  expect_close(x.grad(), grads.at("x"), tol, "grad x");
  if (initial.h.defined()) expect_close(initial.h.grad(), grads.at("h0"), tol, "grad h0");
  if (initial.c.defined()) expect_close(initial.c.grad(), grads.at("c0"), tol, "grad c0");
}

TEST(RecurrentTorch, FixtureCoversEveryCellAndConfiguration) {
  const auto& cases = fixtures().at("cases");
  EXPECT_EQ(cases.size(), 20u);
  std::set<std::string> names;
  for (const auto& c : cases) names.insert(c.at("name").get<std::string>());
  for (const char* cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"})
    for (const char* config : {"one_layer", "two_layers", "bidirectional", "two_layers_bidirectional"})
      EXPECT_TRUE(names.count(std::string(cell) + "_" + config)) << cell << "_" << config;
}

TEST(RecurrentTorch, MatchesPyTorchFloat64) {
  for (const auto& c : fixtures().at("cases")) check_case(c, DType::Float64, 1e-8);
}

TEST(RecurrentTorch, MatchesPyTorchFloat32) {
  for (const auto& c : fixtures().at("cases")) check_case(c, DType::Float32, 1e-5);
}

// Import: a torch state_dict, saved by name as safetensors, loads into ouro's LSTM.
TEST(RecurrentTorch, LoadsATorchStateDictFromSafetensors) {
  const SafetensorsFile file = load_safetensors(std::string(OURO_FIXTURE_DIR) + "/recurrent_lstm_torch.safetensors");
  const nlohmann::json* source = nullptr;
  for (const auto& c : fixtures().at("cases"))
    if (c.at("name") == "lstm_two_layers_bidirectional") source = &c;
  ASSERT_NE(source, nullptr);
  auto layer = layer_for(*source, DType::Float32);
  layer->load_state_dict(file.tensors);  // strict: every name must match
  const RecurrentOutput out = layer->forward(exact(source->at("x"), DType::Float32),
                                             {exact(source->at("h0"), DType::Float32), exact(source->at("c0"), DType::Float32)},
                                             Tensor::from_indices(source->at("lengths").get<std::vector<std::int64_t>>(), {3}));
  expect_close(out.output, source->at("output"), 1e-5, "output");
  expect_close(out.state.c, source->at("c_n"), 1e-5, "c_n");
}

std::string json_tensor(const Tensor& t) {
  nlohmann::json j;
  j["shape"] = t.shape();
  j["data"] = t.to_vector();
  return j.dump();
}

// Export: ouro's state_dict, saved as safetensors, loads strictly into torch (when Debian's
// python3-torch is installed) and gives the same outputs.
TEST(RecurrentTorch, ExportedWeightsLoadInTorch) {
  if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs /usr/bin/python3 with torch (Debian: python3-torch); the import direction is tested without it";
  Generator gen(42);
  int index = 0;
  std::vector<std::string> paths;
  for (const char* kind : {"LSTM", "GRU", "SimpleRNN"}) {
    RecurrentOptions o;
    o.input_size = 3;
    o.hidden_size = 4;
    o.num_layers = 2;
    o.bidirectional = true;
    o.batch_first = index++ % 2 == 0;
    o.nonlinearity = ActivationKind::Relu;
    o.generator = &gen;
    std::shared_ptr<RecurrentLayer> layer;
    if (std::string(kind) == "LSTM") layer = std::make_shared<LSTM>(o);
    else if (std::string(kind) == "GRU") layer = std::make_shared<GRU>(o);
    else layer = std::make_shared<SimpleRNN>(o);
    const Tensor x = randn({2, 5, 3}, 0, 1, DType::Float32, &gen);
    const Tensor out = layer->forward(x);
    // Per-process names: parallel runs of this test (ctest -j, several checkouts) must not
    // overwrite or delete each other's files.
    paths.push_back((std::filesystem::temp_directory_path() /
                     ("ouro_recurrent_export_" + std::to_string(::getpid()) + "_" + kind + ".safetensors"))
                        .string());
    save_safetensors(paths.back(), layer->state_dict(),
                     {{"type", kind}, {"config", layer->config_json()}, {"x", json_tensor(x)}, {"output", json_tensor(out)}});
  }
  std::string command = "/usr/bin/python3 " + std::string(OURO_FIXTURE_DIR) + "/gen_recurrent_fixtures.py check-export";
  for (const std::string& path : paths) command += " " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  for (const std::string& path : paths) std::remove(path.c_str());
}

}  // namespace
}  // namespace ouro::testing
