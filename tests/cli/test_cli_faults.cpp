// Faults during training, through the `ouro` binary: a NaN gradient (stop naming the step and
// the parameter, or skip the step), a checkpoint write that fails for lack of space (ulimit -f),
// an unwritable run directory, a missing data file, a checkpoint of another architecture and
// a LoRA adapter of another base — each a clear error, exit code 1, nothing half-written left;
// a checkpoint whose latest pointer was never written is resumed from.
// The kill -9 test is tests/cli/kill_resume.sh (ctest: Cli.KillResume).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

namespace fs = std::filesystem;

// Every record of a metrics log without its throughput (timing); each line must be whole JSON.
std::vector<std::string> records(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json record = nlohmann::json::parse(line);  // throws on a torn line
    record.erase("samples_per_s");
    record.erase("tokens_per_s");
    out.push_back(record.dump());
  }
  EXPECT_TRUE(log.empty() || log.back() == '\n') << "the log ends in a torn line";
  return out;
}

std::size_t count_steps(const std::vector<std::string>& records) {
  std::size_t n = 0;
  for (const std::string& r : records) n += r.find("\"kind\":\"step\"") != std::string::npos;
  return n;
}

// Every path under `dir`, relative to it (what a command left behind).
std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    out.insert(fs::relative(entry.path(), dir).string());
  return out;
}

std::set<std::string> temporaries(const std::string& dir) {
  std::set<std::string> out;
  for (const std::string& p : tree(dir))
    if (p.find(".tmp.") != std::string::npos) out.insert(p);
  return out;
}

class CliFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "The quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + ".\n%\n";
    box.write("corpus.txt", text);
    box.write("lstm.toml", config("corpus.txt", 24));
  }

  // A tiny character LSTM: about 100 steps per epoch of 4 windows, a few ms each.
  static std::string config(const std::string& data, int hidden) {
    return "[model]\ntype = \"char_lstm\"\nembedding_dim = 8\nhidden_size = " + std::to_string(hidden) +
           "\n[data]\npath = \"" + data + "\"\nseq_len = 16\nvalidation_fraction = 0.1\n"
           // Not stateful: a stateful CharLM's carried state is not in its checkpoints, so a
           // resume mid-epoch starts it from zero (a known gap; see the kill test).
           "stateful = false\n"
           "[optim]\nname = \"adam\"\nlr = 0.01\n"
           "[train]\nrun_dir = \"run\"\nepochs = 1\nmax_steps = 12\nbatch_size = 4\nlog_every = 1\n"
           "checkpoint_every = 3\nkeep_checkpoints = 20\nprogress = \"silent\"\n";
  }

  std::string latest(const std::string& run) const {
    std::string name = box.read(run + "/checkpoints/latest");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    return run + "/checkpoints/" + name;
  }

  // A hash of each tensor of a checkpoint, by name (the header also holds the run's config,
  // which names its run directory, so files of two runs are compared tensor by tensor).
  std::map<std::string, std::uint64_t> tensors(const std::string& checkpoint) const {
    std::map<std::string, std::uint64_t> out;
    for (const auto& [name, t] : load_safetensors(box.path(checkpoint)).tensors) {
      const Tensor c = t.is_contiguous() ? t : t.copy();
      const auto* bytes = static_cast<const unsigned char*>(c.raw_data());
      std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
      for (std::size_t i = 0; i < static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype()); ++i)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
      out[name] = hash;
    }
    return out;
  }

  bool all_finite(const std::string& checkpoint) const {
    for (const auto& [name, t] : load_safetensors(box.path(checkpoint)).tensors) {
      if (t.dtype() != DType::Float32) continue;
      const Tensor c = t.is_contiguous() ? t : t.copy();
      for (std::int64_t i = 0; i < c.numel(); ++i)
        if (!std::isfinite(c.data<float>()[i])) return false;
    }
    return true;
  }

  CliSandbox box;
};

TEST_F(CliFaults, NanGradientStopsNamingTheStepAndParameterAndSkipContinues) {
  const CliResult stopped = box.run("train lstm.toml --set train.debug_inject_nan_step=5");
  EXPECT_EQ(stopped.code, 1) << stopped.err;
  // The hook says where it put the NaN; the error must name that step and that parameter.
  const std::string marker = "a NaN in the gradient of ";
  const auto at = stopped.err.find(marker);
  ASSERT_NE(at, std::string::npos) << stopped.err;
  const std::string parameter = stopped.err.substr(at + marker.size(), stopped.err.find(' ', at + marker.size()) -
                                                                           at - marker.size());
  expect_contains(stopped.err, "ouro train: error: TerminateOnNaN: a non-finite gradient at step 5 (epoch 1); "
                               "first parameter with a non-finite gradient: " + parameter);
  // The step's forward pass already moved the run's state (RNG draws, the carried LSTM state,
  // metrics), so no checkpoint is written at the stop: the latest is the last periodic one.
  expect_contains(stopped.err, "the latest checkpoint is run/checkpoints/step-00000003.safetensors");
  expect_contains(stopped.err, "ouro resume run --set train.on_nan=skip");
  EXPECT_EQ(latest("run"), "run/checkpoints/step-00000003.safetensors");
  EXPECT_EQ(count_steps(records(box.read("run/metrics.jsonl"))), 5u);
  EXPECT_TRUE(all_finite(latest("run")));

  // Resumed with on_nan = "skip", the same step (the hook fires again) is skipped.
  const CliResult resumed = box.run("resume run --set train.on_nan=skip");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "resuming from run/checkpoints/step-00000003.safetensors");
  expect_contains(resumed.err, "warning: TerminateOnNaN: a non-finite gradient at step 5 (epoch 1); first parameter "
                               "with a non-finite gradient: " + parameter + "; the step's update was skipped (1 skipped");
  const std::vector<std::string> resumed_records = records(box.read("run/metrics.jsonl"));
  EXPECT_EQ(count_steps(resumed_records), 12u);
  for (const std::string& r : resumed_records)
    if (r.find("\"step\":5,") != std::string::npos || r.find("\"step\":4,") != std::string::npos)
      EXPECT_EQ(r.find("skipped_steps"), std::string::npos) << r;
    else if (r.find("\"step\":6,") != std::string::npos || r.find("\"step\":12,") != std::string::npos)
      expect_contains(r, "\"skipped_steps\":1");

  // A run with on_nan = "skip" from the start is the same run, and its skipped step (the 6th)
  // changed nothing: weights and optimizer state after it are those before it.
  const CliResult skipping = box.run("train lstm.toml --set train.run_dir=skip --set train.on_nan=skip "
                                     "--set train.debug_inject_nan_step=5 --set train.checkpoint_every=1");
  ASSERT_EQ(skipping.code, 0) << skipping.err;
  EXPECT_EQ(records(box.read("skip/metrics.jsonl")), resumed_records);
  EXPECT_EQ(tensors(latest("skip")), tensors(latest("run")));
  EXPECT_EQ(tensors("skip/checkpoints/step-00000006.safetensors"), tensors("skip/checkpoints/step-00000005.safetensors"));
  EXPECT_NE(tensors("skip/checkpoints/step-00000007.safetensors"), tensors("skip/checkpoints/step-00000006.safetensors"));
}

TEST_F(CliFaults, OnNanAndTheNanHookAreValidated) {
  const CliResult bad = box.run("train lstm.toml --set train.on_nan=ignore");
  EXPECT_EQ(bad.code, 2);
  expect_contains(bad.err, "train.on_nan");
  expect_contains(bad.err, "\"stop\"");
  const CliResult negative = box.run("train lstm.toml --set train.debug_inject_nan_step=-2");
  EXPECT_EQ(negative.code, 2);
  expect_contains(negative.err, "train.debug_inject_nan_step");
  EXPECT_FALSE(fs::exists(box.path("run")));
}

TEST_F(CliFaults, FailedCheckpointWriteKeepsThePreviousOneAndTheLog) {
  ASSERT_EQ(box.run("train lstm.toml --set train.run_dir=reference").code, 0);
  ASSERT_EQ(box.run("train lstm.toml --set train.max_steps=6").code, 0);
  ASSERT_GT(fs::file_size(box.path(latest("run"))), 40000u);  // far above the limit below
  // A file-size limit stands in for a full disk: writes past it fail with EFBIG (SIGXFSZ is
  // ignored, as a full disk sends no signal). 40 blocks of 512 bytes (dash; bash counts 1024):
  // the metrics log stays below, the checkpoint cannot.
  const std::string limited = "sh -c \"trap '' XFSZ; ulimit -f 40; exec '" + std::string(OURO_CLI_PATH) +
                              "' resume run --set train.max_steps=12\"";
  const int status = std::system(("cd '" + box.dir() + "' && " + limited + " >.stdout 2>.stderr").c_str());
  const std::string err = box.read(".stderr");
  EXPECT_EQ(WEXITSTATUS(status), 1) << err;
  expect_contains(err, "the checkpoint of step 9 was not saved (the latest is still run/checkpoints/step-00000006");
  expect_contains(err, "run/checkpoints/step-00000009.safetensors");
  expect_contains(err, "File too large");
  EXPECT_EQ(latest("run"), "run/checkpoints/step-00000006.safetensors");
  EXPECT_FALSE(fs::exists(box.path("run/checkpoints/step-00000009.safetensors")));
  EXPECT_EQ(temporaries(box.path("run")), std::set<std::string>{});
  EXPECT_EQ(count_steps(records(box.read("run/metrics.jsonl"))), 9u);  // whole lines, up to the failed save

  // The previous checkpoint loads, and the run goes on from it as if nothing had happened.
  const CliResult inspect = box.run("inspect run");
  EXPECT_EQ(inspect.code, 0) << inspect.err;
  const CliResult resumed = box.run("resume run --set train.max_steps=12");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "resuming from run/checkpoints/step-00000006.safetensors");
  EXPECT_EQ(records(box.read("run/metrics.jsonl")), records(box.read("reference/metrics.jsonl")));
  EXPECT_EQ(tensors(latest("run")), tensors(latest("reference")));
}

TEST_F(CliFaults, UnwritableRunDirectoryFailsWithoutLeavingOutput) {
  // Root ignores permission bits, so "unwritable" is made portable: a run directory under a
  // regular file cannot be created by anyone.
  box.write("blocker", "a file, not a directory\n");
  const std::set<std::string> before = tree(box.dir());
  const CliResult under_file = box.run("train lstm.toml --set train.run_dir=blocker/run");
  EXPECT_EQ(under_file.code, 1) << under_file.err;
  expect_contains(under_file.err, "cannot create 'blocker/run/checkpoints': Not a directory");
  std::set<std::string> after = tree(box.dir());
  after.erase(".stdout");
  after.erase(".stderr");
  EXPECT_EQ(after, before);

  // An existing run directory whose metrics log cannot be opened for writing (a directory
  // is in its place): what the failed start created there is removed again.
  fs::create_directories(box.path("taken/metrics.jsonl"));
  const CliResult blocked_log = box.run("train lstm.toml --set train.run_dir=taken");
  EXPECT_EQ(blocked_log.code, 1) << blocked_log.err;
  expect_contains(blocked_log.err, "taken/metrics.jsonl");
  EXPECT_EQ(tree(box.path("taken")), std::set<std::string>{"metrics.jsonl"});
}

TEST_F(CliFaults, MissingDataFileFailsWithoutLeavingOutput) {
  box.write("missing.toml", config("no/such/corpus.txt", 24));
  const CliResult r = box.run("train missing.toml --set train.run_dir=runs/new");
  EXPECT_EQ(r.code, 1) << r.err;
  expect_contains(r.err, "no/such/corpus.txt");
  EXPECT_FALSE(fs::exists(box.path("runs"))) << "a half-created run directory was left behind";
}

TEST_F(CliFaults, CheckpointOfAnotherArchitectureIsRefused) {
  ASSERT_EQ(box.run("train lstm.toml --set train.max_steps=3").code, 0);
  const std::string log = box.read("run/metrics.jsonl");
  // The run's config edited to another width: resume must refuse the checkpoint, not crash.
  std::string edited = box.read("run/config.toml");
  edited.replace(edited.find("hidden_size = 24"), 16, "hidden_size = 20");
  box.write("run/config.toml", edited);
  const std::set<std::string> before = tree(box.path("run"));
  const CliResult resumed = box.run("resume run --set train.max_steps=6");
  EXPECT_EQ(resumed.code, 1) << resumed.err;
  expect_contains(resumed.err, "run/checkpoints/step-00000003.safetensors");
  expect_contains(resumed.err, "different architecture");
  expect_contains(resumed.err, "lstm.weight_ih_l0 (checkpoint [96, 8], model [80, 8])");
  EXPECT_EQ(tree(box.path("run")), before);
  EXPECT_EQ(box.read("run/metrics.jsonl"), log);

}

TEST_F(CliFaults, ResumeWithoutTheLatestPointerUsesTheNewestCheckpoint) {
  // What a kill between a checkpoint's rename and the pointer's leaves: a whole file, no pointer.
  ASSERT_EQ(box.run("train lstm.toml --set train.run_dir=reference").code, 0);
  ASSERT_EQ(box.run("train lstm.toml --set train.max_steps=6").code, 0);
  fs::remove(box.path("run/checkpoints/latest"));
  const CliResult resumed = box.run("resume run --set train.max_steps=12");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "latest is missing (the run was killed while committing a checkpoint); using the "
                               "newest, run/checkpoints/step-00000006.safetensors");
  EXPECT_EQ(records(box.read("run/metrics.jsonl")), records(box.read("reference/metrics.jsonl")));
  EXPECT_EQ(tensors(latest("run")), tensors(latest("reference")));
}

TEST_F(CliFaults, LoraAdapterOfAnotherBaseIsRefused) {
  ASSERT_EQ(box.run("train lstm.toml --set train.max_steps=3").code, 0);
  ASSERT_EQ(box.run("train lstm.toml --set train.max_steps=3 --set train.run_dir=other --set train.seed=7").code, 0);
  box.write("lora.toml", config("corpus.txt", 24) +
                             "[finetune]\nmode = \"lora\"\nlora_rank = 2\nlora_targets = \"decoder\"\n");
  const CliResult lora = box.run("finetune lora.toml --from run --set train.run_dir=lora --set train.max_steps=2");
  ASSERT_EQ(lora.code, 0) << lora.err;
  std::set<std::string> before = tree(box.dir());
  before.erase(".stdout");
  before.erase(".stderr");
  for (const std::string& command :
       {std::string("eval other --adapter lora/adapter.safetensors --data corpus.txt"),
        std::string("generate other --adapter lora/adapter.safetensors --max-tokens 5"),
        std::string("merge other lora/adapter.safetensors --out merged.safetensors")}) {
    const CliResult r = box.run(command);
    EXPECT_EQ(r.code, 1) << command << "\n" << r.err;
    expect_contains(r.err, "lora/adapter.safetensors");
    expect_contains(r.err, "was trained on base weights with SHA-256");
    std::set<std::string> after = tree(box.dir());
    after.erase(".stdout");
    after.erase(".stderr");
    EXPECT_EQ(after, before) << command << " left output behind";
  }
}

}  // namespace
}  // namespace ouro::testing
