// `ouro finetune CONFIG.toml --from CKPT`: a training run that starts from a trained model.
#include <cstdio>
#include <utility>
#include <filesystem>

#include "cli.h"
#include "ouro/io/config.h"
#include "task.h"
#include "training_run.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro finetune CONFIG.toml [--from CKPT] [--set section.key=value ...]\n"
    "\n"
    "Continues training a model trained by `ouro train` on new data, as the config's\n"
    "[finetune] section says, into a run directory like `ouro train` writes (config.toml,\n"
    "checkpoints/, metrics.jsonl; `ouro resume` continues it). The architecture (and a char\n"
    "model's vocabulary, a gpt's tokenizer) comes from the base checkpoint; [data], [optim],\n"
    "[schedule], [train] and model.dropout come from CONFIG.\n"
    "\n"
    "[finetune] keys:\n"
    "  init_from = \"CKPT\"          the base checkpoint or run directory (or --from)\n"
    "  mode = \"full\"               train every weight\n"
    "  mode = \"freeze\"             freeze = \"*\" (globs, comma-separated), then\n"
    "                              unfreeze = \"h.3.*,ln_f.*\": train only those\n"
    "  mode = \"lora\"               LoRA adapters on lora_targets (Linear layer names or path\n"
    "                              globs, e.g. \"c_attn,c_proj,c_fc\"; char_lstm: \"decoder\"),\n"
    "                              lora_rank, lora_alpha, lora_dropout; base weights frozen.\n"
    "                              Writes RUN_DIR/adapter.safetensors (the adapter only).\n"
    "\n"
    "Before and after training it prints the validation figures on the new data and on the\n"
    "base run's own validation data (what the model forgot); RUN_DIR/finetune_report.json\n"
    "holds them.\n"
    "\n"
    "options:\n"
    "  --from CKPT      the base checkpoint (overrides finetune.init_from)\n"
    "  --set KEY=VALUE  override a config key (repeatable), e.g. --set finetune.lora_rank=4\n"
    "  --help           this text\n"
    "\n"
    "exit codes: 0 success, 130 interrupted by Ctrl-C after writing a checkpoint (resumable),\n"
    "            1 runtime failure, 2 usage or config error\n";
// The model's shape is the base checkpoint's. A [model] key that the config sets to another
// value (it used to be ignored without a word) is refused, naming both values; the run's
// config.toml then records the base's shape, with the config's own dropout (which fine-tuning
// may change).
void adopt_base_architecture(Config& config, const std::string& config_path) {
  const std::string checkpoint = resolve_checkpoint(config.finetune.init_from);
  const Config base = read_checkpoint_config(checkpoint).config;
  if (base.model.type != config.model.type) return;  // refused with its own message when the run starts
  for (const std::string& key : config.given) {
    if (key.rfind("model.", 0) != 0 || key == "model.type" || key == "model.dropout") continue;
    const std::string mine = config_value(config, key), theirs = config_value(base, key);
    if (mine != theirs)
      throw UsageError("config '" + config_path + "': key '" + key + "' = " + mine + ", but the base checkpoint '" +
                       checkpoint + "' has " + key + " = " + theirs +
                       "; fine-tuning keeps the base's architecture: remove the key, or start from a base of that shape");
  }
  const double dropout = config.model.dropout;
  config.model = base.model;
  config.model.dropout = dropout;
}

}  // namespace

int run_finetune(int argc, char** argv) {
  const Args args = parse_args("finetune", argc, argv, {{"from"}, {"set", true, true}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  Config config = load_config(args.positional[0], args.all("set"));
  if (config.finetune.mode.empty())
    throw UsageError("config '" + args.positional[0] +
                     "' has no [finetune] mode: set mode = \"full\", \"freeze\" or \"lora\" (see ouro finetune --help)");
  if (const auto from = args.text("from")) config.finetune.init_from = *from;
  if (config.finetune.init_from.empty())
    throw UsageError("no base checkpoint: pass --from CKPT or set finetune.init_from in the config");
  // The run must not depend on the directory it is resumed from.
  namespace fs = std::filesystem;
  if (fs::exists(config.finetune.init_from))
    config.finetune.init_from = fs::absolute(config.finetune.init_from).lexically_normal().string();
  adopt_base_architecture(config, args.positional[0]);
  return start_new_run(std::move(config));
}

}  // namespace ouro::cli
