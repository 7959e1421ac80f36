// LoRA on the GPT decoder: adapters on the attention and MLP projections of every block by
// module name, the logits of the adapted model unmerged, merged in place, and exported into a
// plain Gpt (merged_state_dict) agree, and the KV-cached path sees the adapter too (the path
// `ouro generate --adapter` takes).
#include <gtest/gtest.h>

#include <cmath>

#include "ouro/autograd/grad_mode.h"
#include "ouro/nn/gpt.h"
#include "ouro/nn/lora.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/tensor/random.h"

namespace ouro::testing {
namespace {

GptConfig tiny(std::uint64_t seed) {
  return GptConfig{.vocab_size = 50, .context = 12, .width = 16, .layers = 2, .heads = 2, .seed = seed};
}

Tensor tokens(std::int64_t batch, std::int64_t length, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < batch * length; ++i) ids.push_back(gen.integer(50));
  return Tensor::from_indices(ids, {batch, length});
}

void expect_close(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], tolerance * (1 + std::abs(expected[i]))) << "logit " << i;
}

TEST(GptLora, UnmergedMergedAndExportedLogitsAgree) {
  Gpt model(tiny(3));
  const auto adapted = apply_lora(model, LoraOptions{.rank = 2, .alpha = 4}, {"c_attn", "c_proj", "c_fc"});
  EXPECT_EQ(adapted, (std::vector<std::string>{"h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", "h.0.mlp.c_proj",
                                               "h.1.attn.c_attn", "h.1.attn.c_proj", "h.1.mlp.c_fc", "h.1.mlp.c_proj"}));
  // Only the adapters train: 2 blocks of r (in + out) per layer.
  EXPECT_EQ(count_parameters(model).trainable, 2 * 2 * ((16 + 48) + (16 + 16) + (16 + 64) + (64 + 16)));
  Generator gen(9);
  for (auto& [path, linear] : lora_layers(model))  // B starts at zero: give the adapter an effect
    linear->lora_B().copy_from_(rand(linear->lora_B().shape(), -0.3, 0.3, DType::Float32, &gen));
  model.eval();
  NoGradGuard no_grad;
  const Tensor x = tokens(2, 12, 4);
  const auto unmerged = model(x).to_vector();

  Gpt plain_base(tiny(3));
  plain_base.eval();
  const auto base = plain_base(x).to_vector();
  double moved = 0;
  for (std::size_t i = 0; i < base.size(); ++i) moved = std::max(moved, std::abs(base[i] - unmerged[i]));
  EXPECT_GT(moved, 1e-2);  // the adapter changes the logits

  Gpt exported(tiny(77));  // other initial weights: everything comes from the state dict
  exported.load_state_dict(merged_state_dict(model));
  exported.eval();
  const auto from_export = exported(x).to_vector();
  // W x + s B (A x) against (W + s B A) x: float32 rounding only.
  expect_close(from_export, unmerged, 1e-5);
  merge_lora(model);
  EXPECT_EQ(model(x).to_vector(), from_export);  // the same folded weights, the same plain path
  unmerge_lora(model);
  expect_close(model(x).to_vector(), unmerged, 1e-5);
}

TEST(GptLora, KvCachedLogitsSeeTheAdapter) {
  Gpt model(tiny(5));
  apply_lora(model, LoraOptions{.rank = 3, .alpha = 3}, {"h.*.attn.*", "c_fc"});
  Generator gen(2);
  for (auto& [path, linear] : lora_layers(model))
    linear->lora_B().copy_from_(rand(linear->lora_B().shape(), -0.3, 0.3, DType::Float32, &gen));
  model.eval();
  NoGradGuard no_grad;
  const Tensor x = tokens(1, 10, 6);
  const auto full = model(x).to_vector();
  KvCache cache;
  std::vector<double> cached = model.forward_cached(slice(x, 1, 0, 4), cache).to_vector();
  for (std::int64_t t = 4; t < 10; ++t) {
    const auto step = model.forward_cached(slice(x, 1, t, t + 1), cache).to_vector();
    cached.insert(cached.end(), step.begin(), step.end());
  }
  expect_close(cached, full, 1e-5);
}

}  // namespace
}  // namespace ouro::testing
