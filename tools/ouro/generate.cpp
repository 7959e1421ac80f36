// `ouro generate CKPT --prompt ...`: samples text from a trained character model, printing
// each piece as soon as it is sampled.
#include <cstdio>
#include <limits>

#include "cli.h"
#include "task.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro generate CKPT [--adapter FILE] [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]\n"
    "                          [--repetition-penalty R] [--stop TEXT ...] [--seed S]\n"
    "\n"
    "Continues TEXT with a text model trained by `ouro train` (model.type = \"char_lstm\" or\n"
    "\"gpt\"), streaming the sampled text to stdout as it is produced. A gpt model decodes with\n"
    "a KV cache: each new token costs one step.\n"
    "\n"
    "CKPT: a checkpoint file, or a run directory (its newest checkpoint).\n"
    "\n"
    "options:\n"
    "  --adapter FILE      a LoRA adapter of `ouro finetune` applied (unmerged) to CKPT, which\n"
    "                      must be the checkpoint it was fine-tuned from\n"
    "  --prompt TEXT       the start of the text (default: empty; the model starts fresh), any\n"
    "                      bytes: a gpt model sees only its last `context` tokens of it; a\n"
    "                      char_lstm reads characters it never saw (and invalid UTF-8) as unknown\n"
    "  --max-tokens N      tokens to sample, 0 to 2^40 (characters for char_lstm; default 200;\n"
    "                      0 prints the prompt only)\n"
    "  --temperature T     >= 0; lower is more conservative, 0 always takes the likeliest (default 1.0)\n"
    "  --top-k K           sample among the K likeliest tokens only (default 0: all; K above the\n"
    "                      vocabulary size also keeps all)\n"
    "  --top-p P           in (0, 1]: sample among the likeliest tokens whose mass reaches P (default 1)\n"
    "  --repetition-penalty R  > 0: divides the logits of tokens already in the text (CTRL's\n"
    "                      penalty; 1: off, the default; gpt only)\n"
    "  --stop TEXT         end before the first occurrence of TEXT (repeatable; gpt only)\n"
    "  --seed S            sampling seed; the same seed gives the same text (default 0)\n"
    "  --help              this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 usage error (also: not a text model)\n";
}  // namespace

int run_generate(int argc, char** argv) {
  const Args args = parse_args("generate", argc, argv,
                               {{"adapter"}, {"prompt"}, {"max-tokens"}, {"temperature"}, {"top-k"}, {"top-p"}, {"seed"},
                                {"repetition-penalty"}, {"stop", true, true}},
                               1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  GenerateRequest request;
  request.prompt = args.text_or("prompt", "");
  request.max_tokens = args.integer_or("max-tokens", 200, 0, std::int64_t{1} << 40);
  request.temperature = args.number_or("temperature", 1.0, 0, 1e6);
  request.top_p = args.number_or("top-p", 1.0, 0, 1, /*min_open=*/true);
  request.top_k = args.integer_or("top-k", 0, 0, std::int64_t{1} << 40);
  request.seed = static_cast<std::uint64_t>(args.integer_or("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  request.repetition_penalty = args.number_or("repetition-penalty", 1.0, 0, 1e6, /*min_open=*/true);
  request.stop = args.all("stop");
  for (const std::string& stop : request.stop)
    if (stop.empty()) throw UsageError("--stop: an empty stop sequence would end generation at once");
  const std::string path = resolve_checkpoint(args.positional[0]);
  CheckpointConfig info = read_checkpoint_config(path);
  const Task& task = task_for(info.config.model.type);
  if (task.generate == nullptr)
    throw UsageError("ouro generate: '" + path + "' holds a model.type = \"" + info.config.model.type +
                     "\" model, which does not generate text (char_lstm and gpt do)");
  if (info.config.model.type != "gpt" && (args.has("repetition-penalty") || args.has("stop")))
    throw UsageError("ouro generate: --repetition-penalty and --stop are for gpt models, not model.type = \"" +
                     info.config.model.type + "\"");
  TaskModel model = load_trained_model(path, info, args.text_or("adapter", ""));
  task.generate(info.config, model, request, stdout);
  std::fputc('\n', stdout);
  return kExitOk;
}

}  // namespace ouro::cli
