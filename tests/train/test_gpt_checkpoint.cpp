// load_gpt: an ouro checkpoint of a Gpt and a Hugging Face GPT-2 file (head count given or read
// from the config.json beside it) both come back as the model that gives the same logits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fixture.h"
#include "gradcheck.h"
#include "ouro/nn/char_lm.h"
#include "ouro/train/checkpoint.h"
#include "ouro/train/gpt_checkpoint.h"
#include "train_helpers.h"

namespace ouro::testing {
namespace {

TEST(GptCheckpoint, AnOuroCheckpointRebuildsTheModel) {
  TempDir dir;
  GptConfig config;
  config.vocab_size = 20;
  config.context = 8;
  config.width = 8;
  config.layers = 2;
  config.heads = 2;
  config.tied_head = false;
  config.seed = 3;
  Gpt model(config);
  Generator gen(1);
  for (Tensor& p : model.parameters()) normal_(p, 0.0, 0.3, &gen);  // not what the seed would give
  save_checkpoint(dir.file("gpt.safetensors"), model);
  auto loaded = load_gpt(dir.file("gpt.safetensors"));
  EXPECT_EQ(loaded->config_json(), model.config_json());
  const Tensor tokens = Tensor::from_indices({1, 19, 4, 0, 7}, {1, 5});
  EXPECT_EQ(loaded->forward(tokens).to_vector(), model.forward(tokens).to_vector());

  CharLM other(CharVocab::build("abc"), CharLMOptions{.embedding_dim = 2, .hidden_size = 3, .num_layers = 1});
  save_checkpoint(dir.file("char.safetensors"), other);
  expect_error([&] { load_gpt(dir.file("char.safetensors")); }, {"\"CharLM\"", "not a Gpt"});
}

TEST(GptCheckpoint, AHuggingFaceFileLoadsWithItsHeadCount) {
  const auto fixture = load_fixture("gpt_fixtures.json");
  const auto& f = fixture["cases"][0];
  const std::string hf = std::string(OURO_FIXTURE_DIR) + "/gpt_hf_layout.safetensors";
  const Tensor tokens = fixture_tensor(f["tokens"], DType::Int64);
  const auto expected = load_gpt(hf, 3)->forward(tokens).to_vector();
  const auto reference = fixture_tensor(f["hf_logits"]).to_vector();
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(expected[i], reference[i], 1e-5 * (1 + std::abs(reference[i])));

  TempDir dir;
  std::filesystem::copy_file(hf, dir.file("model.safetensors"));
  expect_error([&] { load_gpt(dir.file("model.safetensors")); }, {"head count", "config.json"});
  std::ofstream(dir.file("config.json")) << R"({"model_type": "gpt2", "n_head": 3, "n_embd": 12})";
  EXPECT_EQ(load_gpt(dir.file("model.safetensors"))->forward(tokens).to_vector(), expected);
}

}  // namespace
}  // namespace ouro::testing
