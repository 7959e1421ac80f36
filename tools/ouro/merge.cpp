// `ouro merge BASE ADAPTER --out CKPT`: folds a LoRA adapter into its base model's weights.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/nn/lora.h"
#include "ouro/train/checkpoint.h"
#include "task.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro merge BASE ADAPTER --out CKPT\n"
    "\n"
    "Writes CKPT: the model of BASE (a checkpoint or run directory of `ouro train`) with the\n"
    "LoRA adapter ADAPTER (RUN_DIR/adapter.safetensors of `ouro finetune`, mode = \"lora\")\n"
    "folded into its weights, W + (alpha / r) B A, as a plain checkpoint of the same model that\n"
    "`ouro generate` and `ouro eval` read like any other. The adapter must have been trained on\n"
    "exactly BASE's weights (its metadata holds their SHA-256).\n"
    "\n"
    "options:\n"
    "  --out CKPT   where to write the merged checkpoint (required)\n"
    "  --help       this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure (unreadable files, adapter of another base), 2 usage error\n";
}  // namespace

int run_merge(int argc, char** argv) {
  const Args args = parse_args("merge", argc, argv, {{"out"}}, 2, 2);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (!args.has("out")) throw UsageError("ouro merge: --out CKPT is required (see ouro merge --help)");
  const std::string base = resolve_checkpoint(args.positional[0]);
  const std::string adapter = args.positional[1];
  CheckpointConfig info = read_checkpoint_config(base);
  TaskModel adapted = load_trained_model(base, info, adapter);
  // A fresh model of the same kind receives the folded weights: no adapter tensors remain.
  TaskModel plain = task_for(info.config.model.type).rebuild(info.config, info.metadata);
  plain.model->load_state_dict(merged_state_dict(*adapted.model));
  CheckpointParts parts;
  parts.extra = plain.metadata;
  parts.extra[kConfigMetadataKey] = info.metadata.at(kConfigMetadataKey);
  parts.extra["merged_from"] = nlohmann::json{{"base", base}, {"adapter", adapter}}.dump();
  save_checkpoint(*args.text("out"), *plain.model, parts);
  const std::size_t layers = lora_layers(*adapted.model).size();
  std::printf("merged %zu LoRA layer%s of %s into %s\n", layers, layers == 1 ? "" : "s", adapter.c_str(),
              args.text("out")->c_str());
  return kExitOk;
}

}  // namespace ouro::cli
