// `ouro train CONFIG.toml [--set key=value ...]`: a new run in the config's train.run_dir.
#include <cstdio>
#include <utility>

#include "cli.h"
#include "ouro/io/config.h"
#include "training_run.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro train CONFIG.toml [--set section.key=value ...]\n"
    "\n"
    "Trains the model a TOML config describes and writes the run directory (train.run_dir):\n"
    "  config.toml    the resolved config actually used (every key, defaults included)\n"
    "  checkpoints/   step-<N>.safetensors (the newest train.keep_checkpoints), latest\n"
    "  metrics.jsonl  one JSON object per logged step and per epoch: step, epoch, loss, lr,\n"
    "                 samples_per_s (tokens_per_s for text), val_* metrics at epoch ends\n"
    "Continue an interrupted run with `ouro resume RUN_DIR`.\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE  override a config key (repeatable), e.g. --set optim.lr=0.01\n"
    "  --help           this text and the config reference\n"
    "\n"
    "exit codes: 0 success, 130 interrupted by Ctrl-C after writing a checkpoint (resumable),\n"
    "            1 runtime failure, 2 usage or config error\n"
    "threads: OURO_NUM_THREADS (default: all cores)\n"
    "\n"
    "config reference (key = default    allowed; meaning):\n";
}  // namespace

int run_train(int argc, char** argv) {
  const Args args = parse_args("train", argc, argv, {{"set", true, true}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    std::fputs(config_reference().c_str(), stdout);
    return kExitOk;
  }
  Config config = load_config(args.positional[0], args.all("set"));
  if (!config.finetune.mode.empty())
    throw UsageError("config '" + args.positional[0] + "' has a [finetune] section (mode = \"" + config.finetune.mode +
                     "\"): run it with `ouro finetune " + args.positional[0] + " --from BASE_CHECKPOINT`");
  return start_new_run(std::move(config));
}

}  // namespace ouro::cli
