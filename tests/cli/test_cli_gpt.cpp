// model.type = "gpt" through the `ouro` binary: a tiny decoder trained on a small fortune-format
// corpus with each tokenizer, validation in bits per byte in metrics.jsonl, eval on the run's
// validation split (the same text as a char_lstm run's), streamed seeded generation with stop
// sequences, resume bit for bit, and the config errors particular to the task.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

std::string corpus_text() {
  std::string corpus;
  for (int i = 0; i < 40; ++i)
    corpus += "The quick brown fox jumps over the lazy dog " + std::to_string(i % 9) +
              " times.\n%\nA stitch in time saves nine, café.\n%\n";
  return corpus;
}

std::string gpt_config(const std::string& run_dir, const std::string& data_extra = "tokenizer = \"byte\"\n") {
  return "[model]\ntype = \"gpt\"\ncontext = 16\nwidth = 16\nheads = 2\nnum_layers = 1\ndropout = 0.1\n"
         "[data]\npath = \"corpus.txt\"\nvalidation_fraction = 0.1\n" + data_extra +
         "[optim]\nname = \"adamw\"\nlr = 0.01\nweight_decay = 0.1\nclip_grad_norm = 1.0\n"
         "[schedule]\ntype = \"warmup_cosine\"\nwarmup_steps = 2\ntotal_steps = 8\nmin_lr = 0.001\n"
         "[train]\nrun_dir = \"" + run_dir + "\"\nmax_steps = 8\nbatch_size = 4\ngradient_accumulation_steps = 2\n"
         "log_every = 1\neval_every = 4\ncheckpoint_every = 3\nprogress = \"silent\"\n";
}

std::vector<nlohmann::json> records(const std::string& log, const std::string& kind) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("kind", "") != kind) continue;
    out.push_back(j);
  }
  return out;
}

TEST(CliGpt, TrainsValidatesEvaluatesAndGenerates) {
  CliSandbox box;
  box.write("corpus.txt", corpus_text());
  box.write("gpt.toml", gpt_config("run"));
  const CliResult trained = box.run("train gpt.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  expect_contains(trained.out, "tokenizer byte: vocabulary 256");
  expect_contains(trained.out, "run/train.tokens");
  expect_contains(trained.out, "val_bits_per_byte: ");

  // Validation over the whole split at steps 4 and 8, in metrics.jsonl beside the step records.
  const auto validation = records(box.read("run/metrics.jsonl"), "validation");
  ASSERT_EQ(validation.size(), 2u);
  EXPECT_EQ(validation[0]["step"], 4);
  EXPECT_EQ(validation[1]["step"], 8);
  const double bpb = validation[1]["val_bits_per_byte"].get<double>();
  EXPECT_GT(bpb, 0.5);
  EXPECT_LT(bpb, 8.5);  // a byte model starts at log2(256) = 8 bits per byte
  EXPECT_NEAR(validation[1]["val_bits_per_token"].get<double>(), bpb * validation[1]["val_bytes"].get<double>() /
                                                                     validation[1]["val_tokens"].get<double>(), 1e-9);
  EXPECT_EQ(records(box.read("run/metrics.jsonl"), "step").size(), 8u);

  // The checkpoint: Hugging Face GPT-2 names, the tokenizer in the metadata.
  const CliResult inspected = box.run("inspect run");
  ASSERT_EQ(inspected.code, 0) << inspected.err;
  expect_contains(inspected.out, "model.wte.weight");
  expect_contains(inspected.out, "model.h.0.attn.c_attn.weight");
  expect_contains(inspected.out, "tokenizer: {\"type\":\"byte\"}");

  // eval --validation scores the same split the same way as training's last validation.
  const CliResult evaluated = box.run("eval run --validation");
  ASSERT_EQ(evaluated.code, 0) << evaluated.err;
  EXPECT_NEAR(printed(evaluated.out, "bits_per_byte"), bpb, 1e-5 * bpb);
  const CliResult on_data = box.run("eval run --data corpus.txt");
  ASSERT_EQ(on_data.code, 0) << on_data.err;
  expect_contains(on_data.out, "loss: ");
  expect_contains(on_data.out, "bits_per_byte: ");
  EXPECT_EQ(box.run("eval run").code, 2);

  // Seeded, streamed generation; a stop sequence ends the text before it.
  const std::string command = "generate run --prompt 'The quick' --max-tokens 40 --temperature 0.8 --top-k 20 --seed 3";
  const CliResult first = box.run(command), second = box.run(command);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.out.rfind("The quick", 0), 0u) << first.out;
  EXPECT_GT(first.out.size(), 10u);
  const CliResult greedy = box.run("generate run --prompt 'The' --max-tokens 30 --temperature 0 --repetition-penalty 1.3");
  ASSERT_EQ(greedy.code, 0) << greedy.err;
  const CliResult stopped = box.run("generate run --prompt 'The' --max-tokens 60 --temperature 0 --stop e");
  ASSERT_EQ(stopped.code, 0) << stopped.err;
  EXPECT_EQ(stopped.out.find('e', 3), std::string::npos) << stopped.out;
  EXPECT_EQ(box.run("generate run --stop ''").code, 2);
  EXPECT_EQ(box.run("generate run --repetition-penalty 0").code, 2);
}

TEST(CliGpt, ResumeMatchesAnUninterruptedRunBitForBit) {
  CliSandbox box;
  box.write("corpus.txt", corpus_text());
  box.write("full.toml", gpt_config("full"));
  box.write("part.toml", gpt_config("part"));
  ASSERT_EQ(box.run("train full.toml").code, 0);
  const CliResult first = box.run("train part.toml --set train.max_steps=5");
  ASSERT_EQ(first.code, 0) << first.err;
  const CliResult resumed = box.run("resume part --set train.max_steps=8");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "resuming from part/checkpoints/step-00000005.safetensors");

  const SafetensorsFile full = load_safetensors(box.path("full/checkpoints/step-00000008.safetensors"));
  const SafetensorsFile part = load_safetensors(box.path("part/checkpoints/step-00000008.safetensors"));
  ASSERT_EQ(full.tensors.size(), part.tensors.size());
  for (const auto& [name, tensor] : full.tensors) {
    ASSERT_TRUE(part.tensors.count(name)) << name;
    if (tensor.dtype() != DType::Float32) continue;
    EXPECT_EQ(tensor.to_float_vector(), part.tensors.at(name).to_float_vector()) << name;
  }
  auto losses = [&](const std::string& run) {
    std::vector<double> out;
    for (const auto& r : records(box.read(run + "/metrics.jsonl"), "step")) out.push_back(r["loss"].get<double>());
    return out;
  };
  EXPECT_EQ(losses("full"), losses("part"));
  const auto full_validation = records(box.read("full/metrics.jsonl"), "validation");
  const auto part_validation = records(box.read("part/metrics.jsonl"), "validation");
  ASSERT_FALSE(full_validation.empty());
  EXPECT_EQ(full_validation.back()["val_loss"], part_validation.back()["val_loss"]);
}

TEST(CliGpt, CharAndLearnedBpeTokenizersAndHeldOutFiles) {
  CliSandbox box;
  box.write("corpus.txt", corpus_text());
  box.write("char.toml", gpt_config("char", "tokenizer = \"char\"\n"));
  CliResult r = box.run("train char.toml --set train.max_steps=2 --set train.eval_every=0");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_contains(r.out, "tokenizer char: vocabulary ");
  EXPECT_EQ(records(box.read("char/metrics.jsonl"), "validation").size(), 1u);  // at the end only

  box.write("bpe.toml", gpt_config("bpe", "tokenizer = \"bpe\"\nvocab_size = 300\n"));
  r = box.run("train bpe.toml --set train.max_steps=2");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_contains(r.out, "tokenizer bpe: vocabulary 300");
  const CliResult generated = box.run("generate bpe --prompt 'A stitch' --max-tokens 5 --seed 1");
  ASSERT_EQ(generated.code, 0) << generated.err;
  EXPECT_EQ(generated.out.rfind("A stitch", 0), 0u);

  // The tokenizer command's files work as data.encoder / data.merges.
  ASSERT_EQ(box.run("tokenizer train --vocab-size 280 corpus.txt --out vocab").code, 0);
  box.write("files.toml", gpt_config("files", "tokenizer = \"bpe\"\nencoder = \"vocab/encoder.json\"\n"
                                              "merges = \"vocab/vocab.bpe\"\n"));
  r = box.run("train files.toml --set train.max_steps=1");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_contains(r.out, "tokenizer bpe: vocabulary 280");
}

TEST(CliGpt, ConfigErrors) {
  CliSandbox box;
  box.write("corpus.txt", corpus_text());
  box.write("gpt.toml", gpt_config("run"));
  CliResult r = box.run("train gpt.toml --set model.width=15");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "model.width = 15 is not a multiple of model.heads = 2");
  r = box.run("train gpt.toml --set data.encoder=e.json");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "data.encoder and data.merges go together");
  r = box.run("train gpt.toml --set data.tokenizer=words");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "data.tokenizer");
  r = box.run("train gpt.toml --set model.hidden_size=8");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "does not apply to model.type = \"gpt\"");
  r = box.run("train gpt.toml --set data.exclude_files=nope");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "'nope' is not a file of corpus");
  const CliResult help = box.run("train --help");
  expect_contains(help.out, "eval_every");
  expect_contains(help.out, "tokenizer = \"bpe\"");
  expect_contains(help.out, "context = 128");
}

TEST(CliGpt, CharLstmEvalReportsBitsPerByteOnTheSameValidationText) {
  CliSandbox box;
  box.write("corpus.txt", corpus_text());
  box.write("lm.toml", "[model]\ntype = \"char_lstm\"\nembedding_dim = 8\nhidden_size = 16\n"
                       "[data]\npath = \"corpus.txt\"\nseq_len = 16\nvalidation_fraction = 0.1\n"
                       "[train]\nrun_dir = \"lm\"\nmax_steps = 2\nbatch_size = 4\nprogress = \"silent\"\n");
  const CliResult trained = box.run("train lm.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  const CliResult evaluated = box.run("eval lm --validation");
  ASSERT_EQ(evaluated.code, 0) << evaluated.err;
  // One non-ASCII character (é) per other entry: more bytes than characters.
  const double bpc = printed(evaluated.out, "bits_per_char"), bpb = printed(evaluated.out, "bits_per_byte");
  EXPECT_NEAR(bpc, printed(trained.out, "val_bits_per_char"), 1e-5 * bpc);
  EXPECT_LT(bpb, bpc);
  EXPECT_GT(bpb, 0.9 * bpc);
  EXPECT_EQ(printed(evaluated.out, "bytes_scored") > printed(evaluated.out, "chars_scored"), true);
}

}  // namespace
}  // namespace ouro::testing
