// `ouro resume RUN_DIR`: continues a run from its latest checkpoint, bit for bit as if it
// had never stopped (same config, data, seed and thread count).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "ouro/io/atomic_file.h"
#include "ouro/io/config.h"
#include "ouro/train/run_directory.h"
#include "training_run.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro resume RUN_DIR [--set train.max_steps=N | train.epochs=N ...]\n"
    "\n"
    "Continues the run in RUN_DIR (written by `ouro train`) from RUN_DIR/checkpoints/latest,\n"
    "with the config in RUN_DIR/config.toml. Weights, optimizer, schedule, data order and\n"
    "random state are restored, so the continued run matches an uninterrupted one exactly\n"
    "(on the same thread count). RUN_DIR/metrics.jsonl is first cut back to the records the\n"
    "checkpoint covers, then the continued run appends to it, so that no step is logged twice.\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE  extend or reshape the run's length or logging; only these keys:\n"
    "                   train.epochs, train.max_steps, train.log_every,\n"
    "                   train.checkpoint_every, train.keep_checkpoints, train.progress,\n"
    "                   train.on_nan (e.g. skip the step a run stopped at)\n"
    "                   (the new values are saved into RUN_DIR/config.toml)\n"
    "  --help           this text\n"
    "\n"
    "exit codes: 0 success, 130 interrupted by Ctrl-C after writing a checkpoint (resumable),\n"
    "            1 runtime failure (e.g. no checkpoint yet), 2 usage or config error\n";

const std::vector<std::string> kResumableKeys = {"train.epochs",           "train.max_steps",
                                                 "train.log_every",        "train.checkpoint_every",
                                                 "train.keep_checkpoints", "train.progress",
                                                 "train.on_nan"};
}  // namespace

int run_resume(int argc, char** argv) {
  const Args args = parse_args("resume", argc, argv, {{"set", true, true}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  const std::string dir = args.positional[0];
  for (const std::string& assignment : args.all("set")) {
    const std::size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--set " + assignment + ": expected key=value, e.g. train.max_steps=1000");
    const std::string key = assignment.substr(0, eq);
    if (std::find(kResumableKeys.begin(), kResumableKeys.end(), key) == kResumableKeys.end())
      throw UsageError("--set " + assignment + ": '" + key +
                       "' cannot change when resuming (it would change the run); allowed: train.epochs, "
                       "train.max_steps, train.log_every, train.checkpoint_every, train.keep_checkpoints, "
                       "train.progress, train.on_nan");
  }
  if (!std::filesystem::is_regular_file(dir + "/config.toml"))
    throw UsageError("'" + dir + "' is not a run directory (no config.toml in it; `ouro train` writes one)");
  const RunDirectory run(dir);
  Config config = load_config(run.config_path(), args.all("set"));
  config.train.run_dir = dir;
  auto latest = run.latest_checkpoint();
  if (!latest && !run.checkpoints().empty()) {
    // A kill between a checkpoint's rename and the write of the pointer to it: the file is
    // complete (it only appears once whole), so it is the one to continue from.
    latest = run.checkpoints().back();
    std::printf("%s/latest is missing (the run was killed while committing a checkpoint); using the newest, %s\n",
                run.checkpoints_dir().c_str(), latest->c_str());
  }
  OURO_CHECK(latest.has_value(), "ouro resume: '", dir, "' has no checkpoint yet (", run.checkpoints_dir(),
             "/latest is missing); start it again with ouro train");
  if (!args.all("set").empty()) write_file_atomically(run.config_path(), config_to_toml(config));
  std::printf("resuming from %s\n", latest->c_str());
  return run_training(config, *latest);
}

}  // namespace ouro::cli
