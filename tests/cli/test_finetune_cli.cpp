// `ouro finetune` (full, freeze, lora) on a tiny char_lstm, `ouro merge`, and the adapter
// applied unmerged (--adapter) against the merged checkpoint: the same greedy text and the
// same evaluation loss. Refusals: an adapter on another base, a config without [finetune].
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

class FinetuneCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_base_and_topic_corpora(box);
    box.write("base.toml", "[model]\ntype = \"char_lstm\"\nembedding_dim = 8\nhidden_size = 24\n"
                           "[data]\npath = \"base.txt\"\nseq_len = 16\nvalidation_fraction = 0.1\n"
                           "[optim]\nlr = 0.01\n"
                           "[train]\nrun_dir = \"base\"\nepochs = 2\nbatch_size = 4\nlog_every = 5\nprogress = \"silent\"\n");
    const CliResult trained = box.run("train base.toml");
    ASSERT_EQ(trained.code, 0) << trained.err;
  }

  std::string finetune_config(const std::string& run_dir, const std::string& finetune_section) const {
    return "[model]\ntype = \"char_lstm\"\n"
           "[data]\npath = \"topic.txt\"\nseq_len = 16\nvalidation_fraction = 0.1\n"
           "[optim]\nlr = 0.02\n"
           "[train]\nrun_dir = \"" + run_dir + "\"\nepochs = 3\nbatch_size = 4\nlog_every = 5\nprogress = \"silent\"\n"
           "[finetune]\n" + finetune_section;
  }

  // The file RUN/checkpoints/latest points to.
  std::string latest_checkpoint(const std::string& run) const {
    std::string name = box.read(run + "/checkpoints/latest");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    return box.path(run + "/checkpoints/" + name);
  }

  CliSandbox box;
};

TEST_F(FinetuneCli, FullFreezeAndLoraTrainWhatTheySay) {
  box.write("full.toml", finetune_config("full", "mode = \"full\"\n"));
  const CliResult full = box.run("finetune full.toml --from base");
  ASSERT_EQ(full.code, 0) << full.err;
  expect_contains(full.out, "(full mode)");
  expect_contains(full.out, "before: bits_per_char on the fine-tuning validation data");
  expect_contains(full.out, "after: bits_per_char on the base run's validation data");
  const nlohmann::json report = nlohmann::json::parse(box.read("full/finetune_report.json"));
  EXPECT_LT(report["after"]["finetune"]["bits_per_char"].get<double>(),
            report["before"]["finetune"]["bits_per_char"].get<double>());
  EXPECT_EQ(report["trainable_parameters"], report["total_parameters"]);
  expect_contains(box.read("full/config.toml"), "[finetune]");

  box.write("freeze.toml", finetune_config("freeze", "mode = \"freeze\"\nfreeze = \"*\"\nunfreeze = \"decoder.*\"\n"));
  const CliResult frozen = box.run("finetune freeze.toml --from base/checkpoints/latest");
  ASSERT_EQ(frozen.code, 0) << frozen.err;
  const SafetensorsFile base = load_safetensors(latest_checkpoint("base"));
  const SafetensorsFile tuned = load_safetensors(latest_checkpoint("freeze"));
  for (const auto& [name, tensor] : tuned.tensors) {
    if (name.rfind("model.", 0) != 0) continue;
    const bool changed = tensor.to_vector() != base.tensors.at(name).to_vector();
    EXPECT_EQ(changed, name.rfind("model.decoder.", 0) == 0) << name;
  }

  box.write("lora.toml", finetune_config("lora", "init_from = \"base\"\nmode = \"lora\"\nlora_rank = 2\nlora_alpha = 4\n"
                                                 "lora_targets = \"decoder\"\n"));
  const CliResult lora = box.run("finetune lora.toml");
  ASSERT_EQ(lora.code, 0) << lora.err;
  expect_contains(lora.out, "LoRA r=2 alpha=4 dropout=0 on 1 layers: decoder");
  expect_contains(lora.out, "adapter: lora/adapter.safetensors");
  const SafetensorsFile adapter = load_safetensors(box.path("lora/adapter.safetensors"));
  EXPECT_EQ(adapter.tensors.size(), 2u);
  EXPECT_EQ(adapter.tensors.count("decoder.lora_A"), 1u);
  EXPECT_EQ(adapter.metadata.at("format"), "\"ouro.lora_adapter\"");

  // Unmerged (--adapter) and merged give the same greedy text and the same loss.
  expect_adapter_equals_merged(box, "merged 1 LoRA layer of lora/adapter.safetensors into merged.safetensors", 40,
                               "bits_per_char");

  // The same adapter on other base weights is refused, naming the hash.
  const CliResult other = box.run("generate full --adapter lora/adapter.safetensors --max-tokens 5");
  EXPECT_EQ(other.code, 1);
  expect_contains(other.err, "was trained on base weights with SHA-256");
  // A LoRA run resumes like any other.
  const CliResult resumed = box.run("resume lora --set train.epochs=4");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "change: bits_per_char on the fine-tuning validation data");
}

TEST_F(FinetuneCli, RefusesWhatItCannotDo) {
  const CliResult no_section = box.run("finetune base.toml --from base");
  EXPECT_EQ(no_section.code, 2);
  expect_contains(no_section.err, "has no [finetune] mode");
  box.write("nobase.toml", finetune_config("x", "mode = \"full\"\n"));
  const CliResult no_base = box.run("finetune nobase.toml");
  EXPECT_EQ(no_base.code, 2);
  expect_contains(no_base.err, "pass --from CKPT");
  box.write("badtarget.toml", finetune_config("y", "mode = \"lora\"\nlora_targets = \"c_attn\"\n"));
  const CliResult bad_target = box.run("finetune badtarget.toml --from base");
  EXPECT_EQ(bad_target.code, 1);
  expect_contains(bad_target.err, "target 'c_attn' matches no Linear layer of this CharLM; its Linear layers are: decoder");
  const CliResult train_finetune = box.run("train nobase.toml");
  EXPECT_EQ(train_finetune.code, 2);
  expect_contains(train_finetune.err, "run it with `ouro finetune");
  const CliResult no_out = box.run("merge base " + latest_checkpoint("base"));
  EXPECT_EQ(no_out.code, 2);
  const CliResult not_adapter = box.run("merge base " + latest_checkpoint("base") + " --out m.safetensors");
  EXPECT_EQ(not_adapter.code, 1);
  expect_contains(not_adapter.err, "not an ouro LoRA adapter");
}

TEST_F(FinetuneCli, TheArchitectureIsTheBasesAndAConflictingModelKeyIsRefused) {
  box.write("shape.toml", finetune_config("shape", "mode = \"full\"\n"));
  const CliResult wider = box.run("finetune shape.toml --from base --set model.hidden_size=99");
  EXPECT_EQ(wider.code, 2);
  expect_contains(wider.err, "key 'model.hidden_size' = 99, but the base checkpoint");
  expect_contains(wider.err, "has model.hidden_size = 24");
  EXPECT_FALSE(std::filesystem::exists(box.path("shape")));  // refused before anything was written
  // The base's own value is no conflict; the run's config.toml records the base's shape,
  // not the defaults of a [model] section that only names the type.
  const CliResult same = box.run("finetune shape.toml --from base --set model.embedding_dim=8 --set train.epochs=1");
  ASSERT_EQ(same.code, 0) << same.err;
  const std::string saved = box.read("shape/config.toml");
  expect_contains(saved, "hidden_size = 24");
  expect_contains(saved, "embedding_dim = 8");
}

}  // namespace
}  // namespace ouro::testing
