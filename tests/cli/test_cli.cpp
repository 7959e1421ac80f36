// The `ouro` binary end to end: help texts, exit codes (0 / 1 / 2), config errors with
// suggestions, train -> inspect -> eval on a tiny run, and resume giving the same weights
// and losses as an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "ouro/data/csv.h"
#include "ouro/data/timeseries.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

// A two-epoch MLP on iris (120 training rows, 16 per batch): 16 steps in well under a second.
std::string iris_config(const std::string& run_dir) {
  return "[model]\ntype = \"mlp\"\nhidden_size = 8\ndropout = 0.1\n"
         "[data]\npath = \"" + sklearn_data_file("iris.csv") + "\"\nvalidation_fraction = 0.2\n"
         "[optim]\nname = \"adam\"\nlr = 0.02\n"
         "[schedule]\ntype = \"warmup_cosine\"\nwarmup_steps = 3\ntotal_steps = 16\n"
         "[train]\nrun_dir = \"" + run_dir + "\"\nepochs = 2\nbatch_size = 16\nlog_every = 1\n"
         "checkpoint_every = 4\nkeep_checkpoints = 2\nprogress = \"silent\"\n";
}

// The "step" records of a metrics log without their throughput (which is timing).
std::vector<std::string> step_records(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"kind\":\"step\"") == std::string::npos) continue;
    out.push_back(line.substr(0, line.find(",\"samples_per_s\"")));
  }
  return out;
}

TEST(Cli, HelpOnEveryCommand) {
  CliSandbox box;
  const CliResult top = box.run("--help");
  EXPECT_EQ(top.code, 0);
  for (const char* command : {"train", "resume", "eval", "generate", "forecast", "inspect", "info"}) {
    expect_contains(top.out, std::string("  ") + command);
    const CliResult r = box.run(std::string(command) + " --help");
    EXPECT_EQ(r.code, 0) << command << ": " << r.err;
    expect_contains(r.out, std::string("usage: ouro ") + command);
    expect_contains(r.out, "exit codes");
  }
  // train's help carries the config reference.
  expect_contains(box.run("train --help").out, "learning rate");
}

TEST(Cli, InspectReadsAnySafetensorsFile) {
  CliSandbox box;
  const CliResult r = box.run(std::string("inspect '") + OURO_FIXTURE_DIR + "/peer_written.safetensors'");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_contains(r.out, "tensors (9):");
  expect_contains(r.out, "brain    BF16   [4]");
  expect_contains(r.out, "nothing  F32    [0, 3]");
  expect_contains(r.out, "parameters: 32\n");  // every tensor counts outside ouro checkpoints
  expect_contains(r.out, "note: ");
}

TEST(Cli, UsageErrorsExitWithTwo) {
  CliSandbox box;
  EXPECT_EQ(box.run("").code, 2);
  CliResult r = box.run("trian x.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "did you mean 'train'?");
  r = box.run("train");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "missing argument");
  r = box.run("train a.toml b.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "unexpected argument 'b.toml'");
  r = box.run("generate ckpt --temprature 0.5");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "unknown option --temprature (did you mean --temperature?)");
  r = box.run("generate ckpt --top-k -3");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--top-k -3");
  r = box.run("generate ckpt --max-tokens");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--max-tokens needs a value");
  r = box.run("eval ckpt");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--data PATH is required");
  r = box.run("forecast ckpt --data x.csv");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--horizon H is required");
  r = box.run("resume no_such_run");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "not a run directory");
}

TEST(Cli, ConfigErrorsExitWithTwoAndNameTheKey) {
  CliSandbox box;
  box.write("typo.toml", iris_config("run") + "[optim]\n");  // a repeated table: a TOML error
  CliResult r = box.run("train typo.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "typo.toml:");

  std::string text = iris_config("run");
  text.replace(text.find("batch_size"), 10, "batch_sise");
  box.write("unknown.toml", text);
  r = box.run("train unknown.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "unknown key 'train.batch_sise' (did you mean 'train.batch_size'?)");

  box.write("good.toml", iris_config("run"));
  r = box.run("train good.toml --set optim.lr=-1");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "key 'optim.lr' = -1 is not allowed: expected a number > 0");
  r = box.run("train good.toml --set optim.name=adma");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "did you mean \"adam\"?");
  r = box.run("train missing.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "missing.toml");
}

TEST(Cli, RuntimeFailuresExitWithOne) {
  CliSandbox box;
  CliResult r = box.run("inspect does_not_exist.safetensors");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "does_not_exist.safetensors");
  box.write("bad.csv", "a,b\n1,2\n");
  std::string text = iris_config("run");
  text.replace(text.find(sklearn_data_file("iris.csv")), sklearn_data_file("iris.csv").size(), "no_such.csv");
  box.write("nodata.toml", text);
  r = box.run("train nodata.toml");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "no_such.csv");
}

TEST(Cli, TrainInspectEvalOnATinyRun) {
  CliSandbox box;
  box.write("iris.toml", iris_config("run"));
  const CliResult trained = box.run("train iris.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  expect_contains(trained.out, "trained: 16 steps");

  // The run directory: the resolved config, the newest two checkpoints and a latest pointer,
  // one metrics record per step and per epoch.
  const std::string resolved = box.read("run/config.toml");
  expect_contains(resolved, "hidden_size = 8");
  expect_contains(resolved, "beta2 = 0.999");  // defaults are written out too
  EXPECT_EQ(box.read("run/checkpoints/latest"), "step-00000016.safetensors\n");
  EXPECT_FALSE(std::filesystem::exists(box.path("run/checkpoints/step-00000008.safetensors")));
  EXPECT_TRUE(std::filesystem::exists(box.path("run/checkpoints/step-00000012.safetensors")));
  const std::string log = box.read("run/metrics.jsonl");
  EXPECT_EQ(step_records(log).size(), 16u);
  expect_contains(log, "\"samples_per_s\":");
  expect_contains(log, "\"kind\":\"epoch\"");
  expect_contains(log, "\"val_accuracy\":");

  const CliResult inspected = box.run("inspect run");
  ASSERT_EQ(inspected.code, 0) << inspected.err;
  expect_contains(inspected.out, "model.0.weight");
  expect_contains(inspected.out, "[8, 4]");
  expect_contains(inspected.out, "F32");
  expect_contains(inspected.out, "parameters: 67 (model.* tensors)");  // 4*8+8 + 8*3+3
  expect_contains(inspected.out, "type = \"mlp\"");

  const CliResult evaluated = box.run("eval run/checkpoints/step-00000016.safetensors --data " + sklearn_data_file("iris.csv"));
  ASSERT_EQ(evaluated.code, 0) << evaluated.err;
  expect_contains(evaluated.out, "samples: 150");
  expect_contains(evaluated.out, "accuracy: ");

  // A second train into the same directory is refused; generate and forecast refuse an mlp.
  CliResult r = box.run("train iris.toml");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "ouro resume run");
  r = box.run("generate run --prompt hi");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "does not generate text");
  r = box.run("forecast run --data x.csv --horizon 3");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "does not forecast");
}

TEST(Cli, ResumeMatchesAnUninterruptedRunBitForBit) {
  CliSandbox box;
  box.write("full.toml", iris_config("full"));
  box.write("part.toml", iris_config("part"));
  ASSERT_EQ(box.run("train full.toml").code, 0);
  // Stopped after 6 steps (mid-epoch, between checkpoints), then resumed to the end.
  const CliResult first = box.run("train part.toml --set train.max_steps=6");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(box.read("part/checkpoints/latest"), "step-00000006.safetensors\n");
  CliResult r = box.run("resume part --set optim.lr=1");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "cannot change when resuming");
  const CliResult resumed = box.run("resume part --set train.max_steps=0");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_contains(resumed.out, "resuming from part/checkpoints/step-00000006.safetensors");

  const SafetensorsFile full = load_safetensors(box.path("full/checkpoints/step-00000016.safetensors"));
  const SafetensorsFile part = load_safetensors(box.path("part/checkpoints/step-00000016.safetensors"));
  ASSERT_EQ(full.tensors.size(), part.tensors.size());
  for (const auto& [name, tensor] : full.tensors) {
    ASSERT_TRUE(part.tensors.count(name)) << name;
    ASSERT_EQ(tensor.dtype(), DType::Float32) << name;
    const std::vector<float> a = tensor.to_float_vector(), b = part.tensors.at(name).to_float_vector();
    EXPECT_EQ(a, b) << name;
  }
  for (const char* key : {"rng", "progress", "optimizer", "scheduler", "trainer"})
    EXPECT_EQ(full.metadata.at(key), part.metadata.at(key)) << key;
  EXPECT_EQ(step_records(box.read("full/metrics.jsonl")), step_records(box.read("part/metrics.jsonl")));
}

// A real interruption: SIGINT while training ends the run after the current step with a
// checkpoint and exit code 130; resuming gives the uninterrupted run's weights exactly.
TEST(Cli, InterruptedRunResumesToTheSameResult) {
  CliSandbox box;
  auto long_config = [](const std::string& run_dir) {
    std::string text = iris_config(run_dir);
    // 120 steps per epoch, so that checkpoints (one per epoch, each fsynced) stay few.
    text.replace(text.find("epochs = 2"), 10, "epochs = 20");
    text.replace(text.find("batch_size = 16"), 15, "batch_size = 1");
    text.replace(text.find("total_steps = 16"), 16, "total_steps = 2400");
    text.replace(text.find("checkpoint_every = 4"), 20, "checkpoint_every = 0");
    return text;
  };
  box.write("full.toml", long_config("full"));
  box.write("part.toml", long_config("part"));

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::chdir(box.dir().c_str()) != 0) ::_exit(127);
    if (!std::freopen(".stdout", "w", stdout) || !std::freopen(".stderr", "w", stderr)) ::_exit(127);
    ::execl(OURO_CLI_PATH, "ouro", "train", "part.toml", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The first metrics record shows that fit is running; then interrupt it.
  for (int i = 0; i < 60000 && box.read("part/metrics.jsonl").empty(); ++i) ::usleep(1000);
  ASSERT_EQ(::kill(child, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 130) << box.read(".stderr");
  expect_contains(box.read(".stdout"), "interrupted (SIGINT)");
  expect_contains(box.read(".stdout"), "ouro resume part");
  EXPECT_NE(box.read("part/checkpoints/latest"), "step-00002400.safetensors\n");

  const CliResult resumed = box.run("resume part");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const CliResult full = box.run("train full.toml");
  ASSERT_EQ(full.code, 0) << full.err;
  const SafetensorsFile a = load_safetensors(box.path("full/checkpoints/step-00002400.safetensors"));
  const SafetensorsFile b = load_safetensors(box.path("part/checkpoints/step-00002400.safetensors"));
  for (const auto& [name, tensor] : a.tensors)
    EXPECT_EQ(tensor.to_float_vector(), b.tensors.at(name).to_float_vector()) << name;
  EXPECT_EQ(step_records(box.read("full/metrics.jsonl")), step_records(box.read("part/metrics.jsonl")));
}

TEST(Cli, CharLstmTrainsGeneratesAndEvaluates) {
  CliSandbox box;
  // A small corpus in fortune format, English and Chinese entries (UTF-8 must survive).
  std::string corpus;
  for (int i = 0; i < 30; ++i)
    corpus += "The quick brown fox jumps over the lazy dog " + std::to_string(i) + ".\n%\n床前明月光，疑是地上霜。\n%\n";
  box.write("corpus.txt", corpus);
  box.write("lm.toml", "[model]\ntype = \"char_lstm\"\nembedding_dim = 8\nhidden_size = 16\n"
                       "[data]\npath = \"corpus.txt\"\nseq_len = 16\nvalidation_fraction = 0.1\n"
                       "[optim]\nlr = 0.01\n"
                       "[train]\nrun_dir = \"lm\"\nepochs = 1\nbatch_size = 4\nlog_every = 1\nprogress = \"silent\"\n");
  const CliResult trained = box.run("train lm.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  expect_contains(trained.out, "val_bits_per_char: ");
  expect_contains(box.read("lm/metrics.jsonl"), "\"tokens_per_s\":");

  const std::string command = "generate lm --prompt '床前' --max-tokens 30 --temperature 0.8 --top-k 5 --seed 7";
  const CliResult first = box.run(command), second = box.run(command);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, second.out);  // same seed, same text
  EXPECT_EQ(first.out.rfind("床前", 0), 0u) << first.out;
  EXPECT_GT(first.out.size(), std::string("床前").size());
  EXPECT_NE(box.run("generate lm --prompt '床前' --max-tokens 30 --seed 8").out, first.out);

  const CliResult evaluated = box.run("eval lm --data corpus.txt");
  ASSERT_EQ(evaluated.code, 0) << evaluated.err;
  expect_contains(evaluated.out, "bits_per_char: ");
  const CliResult r = box.run("forecast lm --data x.csv --horizon 2");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "does not forecast");
}

TEST(Cli, ForecasterTrainsAndForecastsAsCsv) {
  CliSandbox box;
  const std::string csv = statsmodels_data_file("sunspots");
  box.write("sun.toml", "[model]\ntype = \"forecaster\"\ncell = \"mlp\"\nhidden_size = 8\nrollout = 2\n"
                        "[data]\npath = \"" + csv + "\"\ncolumn = \"SUNACTIVITY\"\ntime_column = \"YEAR\"\n"
                        "train_until = 1920\nwindow = 6\n"
                        "[train]\nrun_dir = \"sun\"\nepochs = 1\nbatch_size = 32\nprogress = \"silent\"\n");
  const CliResult trained = box.run("train sun.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  expect_contains(trained.out, "309 values, 221 for training, 88 held out");
  const CliResult printed = box.run("forecast sun --data " + csv + " --horizon 4");
  ASSERT_EQ(printed.code, 0) << printed.err;
  EXPECT_EQ(printed.out.rfind("YEAR,forecast\n2009,", 0), 0u) << printed.out;
  expect_contains(printed.out, "\n2012,");
  const CliResult written = box.run("forecast sun --data " + csv + " --horizon 4 --out f.csv");
  ASSERT_EQ(written.code, 0) << written.err;
  EXPECT_EQ(box.read("f.csv"), printed.out);
  const CliResult evaluated = box.run("eval sun --data " + csv);
  ASSERT_EQ(evaluated.code, 0) << evaluated.err;
  expect_contains(evaluated.out, "mae: ");
  const CliResult r = box.run("generate sun");
  EXPECT_EQ(r.code, 2);
}

// The hybrid options (sqrt transform, least-squares AR path) train from the config, and
// --origins-from prints the rolling-origin RMSE table with the two baselines; persistence and
// AR(p) are the same figures as tests/integration/test_sunspots.cpp's.
TEST(Cli, ForecasterHybridAndRollingOriginEvaluation) {
  CliSandbox box;
  const std::string csv = statsmodels_data_file("sunspots");
  box.write("sun.toml", "[model]\ntype = \"forecaster\"\ncell = \"gru\"\nhidden_size = 4\nrollout = 3\n"
                        "transform = \"sqrt\"\nlinear_skip = \"least_squares\"\n"
                        "[data]\npath = \"" + csv + "\"\ncolumn = \"SUNACTIVITY\"\ntime_column = \"YEAR\"\n"
                        "train_until = 1920\nwindow = 9\n"
                        "[train]\nrun_dir = \"sun\"\nepochs = 1\nbatch_size = 32\nprogress = \"silent\"\n");
  const CliResult trained = box.run("train sun.toml");
  ASSERT_EQ(trained.code, 0) << trained.err;
  const CliResult table = box.run("forecast sun --data " + csv + " --horizon 10 --origins-from 1921");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("horizon,origins,rmse_model,rmse_persistence,rmse_ar\n1,88,", 0), 0u) << table.out;
  expect_contains(table.out, ",30.4360,18.3751\n");   // h = 1: persistence, AR(18)
  expect_contains(table.out, "\n10,79,");
  expect_contains(table.out, ",32.1272,36.7780\n");   // h = 10
  expect_contains(table.err, "AR(18)");
  const CliResult bad = box.run("forecast sun --data " + csv + " --horizon 3 --origins-from 1705");
  EXPECT_EQ(bad.code, 1);
  expect_contains(bad.err, "--origins-from 1705");
}

}  // namespace
}  // namespace ouro::testing
