// `ouro finetune` on a tiny gpt: full, freeze by pattern and LoRA on the attention and MLP
// projections, with the base's BPE tokenizer; the LoRA adapter file (only the adapter, with its
// metadata); `ouro merge`, and the adapter applied unmerged (--adapter) against the merged
// checkpoint: the same greedy text and the same evaluation loss. Also the example configs
// examples/finetune/gpt_*.toml run as written against a base of examples/gpt_pretrain.toml.
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

class FinetuneGptCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_base_and_topic_corpora(box);
    box.write("base.toml", "[model]\ntype = \"gpt\"\ncontext = 16\nwidth = 16\nheads = 2\nnum_layers = 2\n"
                           "[data]\npath = \"base.txt\"\nvalidation_fraction = 0.1\ntokenizer = \"bpe\"\nvocab_size = 280\n"
                           "[optim]\nname = \"adamw\"\nlr = 0.01\n"
                           "[train]\nrun_dir = \"base\"\nmax_steps = 80\nbatch_size = 8\neval_every = 0\nlog_every = 10\n"
                           "progress = \"silent\"\n");
    const CliResult trained = box.run("train base.toml");
    ASSERT_EQ(trained.code, 0) << trained.err;
  }

  std::string finetune_config(const std::string& run_dir, const std::string& finetune_section) const {
    return "[model]\ntype = \"gpt\"\n"
           "[data]\npath = \"topic.txt\"\nvalidation_fraction = 0.1\n"
           "[optim]\nname = \"adamw\"\nlr = 0.01\n"
           "[train]\nrun_dir = \"" + run_dir + "\"\nmax_steps = 20\nbatch_size = 4\neval_every = 0\nlog_every = 10\n"
           "progress = \"silent\"\n"
           "[finetune]\n" + finetune_section;
  }

  std::string latest_checkpoint(const std::string& run) const {
    std::string name = box.read(run + "/checkpoints/latest");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    return box.path(run + "/checkpoints/" + name);
  }

  double report(const std::string& run, const char* when) const {
    const nlohmann::json r = nlohmann::json::parse(box.read(run + "/finetune_report.json"));
    return r[when]["finetune"]["bits_per_byte"].get<double>();
  }

  CliSandbox box;
};

TEST_F(FinetuneGptCli, FullFreezeAndLoraWithTheBaseTokenizer) {
  box.write("full.toml", finetune_config("full", "mode = \"full\"\n"));
  const CliResult full = box.run("finetune full.toml --from base");
  ASSERT_EQ(full.code, 0) << full.err;
  expect_contains(full.out, "(full mode)");
  expect_contains(full.out, "tokenizer bpe: vocabulary 280");  // the base's, not one learned from topic.txt
  expect_contains(full.out, "before: bits_per_byte on the fine-tuning validation data");
  expect_contains(full.out, "after: bits_per_byte on the base run's validation data");
  EXPECT_LT(report("full", "after"), report("full", "before"));
  const nlohmann::json full_report = nlohmann::json::parse(box.read("full/finetune_report.json"));
  EXPECT_EQ(full_report["trainable_parameters"], full_report["total_parameters"]);

  box.write("freeze.toml", finetune_config("freeze", "mode = \"freeze\"\nfreeze = \"*\"\nunfreeze = \"h.1.*,ln_f.*\"\n"));
  const CliResult frozen = box.run("finetune freeze.toml --from base");
  ASSERT_EQ(frozen.code, 0) << frozen.err;
  const SafetensorsFile base = load_safetensors(latest_checkpoint("base"));
  const SafetensorsFile tuned = load_safetensors(latest_checkpoint("freeze"));
  int changed_count = 0;
  for (const auto& [name, tensor] : tuned.tensors) {
    if (name.rfind("model.", 0) != 0) continue;
    const bool changed = tensor.to_vector() != base.tensors.at(name).to_vector();
    const bool trainable = name.rfind("model.h.1.", 0) == 0 || name.rfind("model.ln_f.", 0) == 0;
    EXPECT_EQ(changed, trainable) << name;
    changed_count += changed;
  }
  EXPECT_GT(changed_count, 4);

  box.write("lora.toml", finetune_config("lora", "init_from = \"base\"\nmode = \"lora\"\nlora_rank = 2\nlora_alpha = 4\n"
                                                 "lora_targets = \"c_attn,c_proj,c_fc\"\n"));
  const CliResult lora = box.run("finetune lora.toml --set optim.lr=0.03");
  ASSERT_EQ(lora.code, 0) << lora.err;
  expect_contains(lora.out, "LoRA r=2 alpha=4 dropout=0 on 8 layers: h.0.attn.c_attn h.0.attn.c_proj h.0.mlp.c_fc "
                            "h.0.mlp.c_proj h.1.attn.c_attn");
  expect_contains(lora.out, "adapter: lora/adapter.safetensors");
  EXPECT_LT(report("lora", "after"), report("lora", "before"));
  const nlohmann::json lora_report = nlohmann::json::parse(box.read("lora/finetune_report.json"));
  // Per block: c_attn 2 (16 + 48), attn.c_proj 2 (16 + 16), c_fc 2 (16 + 64), mlp.c_proj 2 (64 + 16).
  EXPECT_EQ(lora_report["trainable_parameters"], 2 * (128 + 64 + 160 + 160));
  const SafetensorsFile adapter = load_safetensors(box.path("lora/adapter.safetensors"));
  EXPECT_EQ(adapter.tensors.size(), 16u);  // lora_A and lora_B of 8 layers, nothing else
  EXPECT_EQ(adapter.tensors.at("h.1.mlp.c_fc.lora_A").shape(), Shape({2, 16}));
  EXPECT_EQ(adapter.metadata.at("format"), "\"ouro.lora_adapter\"");
  EXPECT_EQ(adapter.metadata.at("rank"), "2");
  EXPECT_EQ(adapter.metadata.at("alpha"), "4.0");
  EXPECT_EQ(adapter.metadata.at("targets"), "[\"c_attn\",\"c_proj\",\"c_fc\"]");
  EXPECT_EQ(adapter.metadata.at("base_sha256").size(), 66u);  // 64 hex digits, quoted
  EXPECT_LT(std::filesystem::file_size(box.path("lora/adapter.safetensors")) * 5,
            std::filesystem::file_size(latest_checkpoint("base")));

  // Unmerged (--adapter) and merged: the same greedy text and the same loss.
  const std::string eval_adapter =
      expect_adapter_equals_merged(box, "merged 8 LoRA layers of lora/adapter.safetensors into merged.safetensors", 30,
                                   "bits_per_byte");
  EXPECT_NEAR(printed(eval_adapter, "bits_per_byte"), report("lora", "after"), 0.5);  // all of topic.txt vs its split

  // A LoRA run of a gpt resumes like any other.
  const CliResult resumed = box.run("resume lora --set train.max_steps=24");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "change: bits_per_byte on the fine-tuning validation data");
}

TEST_F(FinetuneGptCli, RefusesAnotherTokenizerAndUnknownTargets) {
  box.write("files.toml", finetune_config("x", "mode = \"full\"\n") + "");
  CliResult r = box.run("finetune files.toml --from base --set data.encoder=e.json --set data.merges=m.bpe");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "a fine-tuning run uses its base checkpoint's tokenizer");
  box.write("bad.toml", finetune_config("y", "mode = \"lora\"\nlora_targets = \"q_proj\"\n"));
  r = box.run("finetune bad.toml --from base");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "target 'q_proj' matches no Linear layer of this Gpt");
}

// The example fine-tuning configs, as written but for two steps each, from a two-step base of
// examples/gpt_pretrain.toml with their topic held out as the configs' comments say (and a
// smaller BPE vocabulary and validation split, which are quicker to learn and to score).
TEST(FinetuneGptExamples, ConfigsRunAsWritten) {
  CliSandbox box;
  const std::string examples = std::string(OURO_SOURCE_DIR) + "/examples";
  const std::string quick = " --set train.max_steps=2 --set train.progress=silent --set train.eval_every=0";
  CliResult r = box.run("train " + examples + "/gpt_pretrain.toml --set train.run_dir=base" + quick +
                        " --set data.exclude_files=startrek --set data.vocab_size=300 --set data.validation_fraction=0.005");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* mode : {"lora", "full"}) {
    r = box.run(std::string("finetune ") + examples + "/finetune/gpt_startrek_" + mode + ".toml --from base" +
                " --set train.run_dir=" + mode + quick);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    expect_contains(r.out, "change: bits_per_byte on the fine-tuning validation data");
  }
  expect_contains(box.read("lora/finetune_report.json"), "adapter.safetensors");
}

}  // namespace
}  // namespace ouro::testing
