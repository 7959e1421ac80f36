// `ouro generate CKPT --prompt ...`: samples text from a trained character model, printing
// each piece as soon as it is sampled.
#include <cstdio>
#include <limits>

#include "cli.h"
#include "task.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro generate CKPT [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
    "\n"
    "Continues TEXT with a text model trained by `ouro train` (model.type = \"char_lstm\"),\n"
    "streaming the sampled characters to stdout as they are produced.\n"
    "\n"
    "CKPT: a checkpoint file, or a run directory (its newest checkpoint).\n"
    "\n"
    "options:\n"
    "  --prompt TEXT       the start of the text (default: empty; the model starts fresh)\n"
    "  --max-tokens N      tokens (characters) to sample (default 200)\n"
    "  --temperature T     >= 0; lower is more conservative, 0 always takes the likeliest (default 1.0)\n"
    "  --top-k K           sample among the K likeliest tokens only (default 0: all)\n"
    "  --top-p P           in (0, 1]: sample among the likeliest tokens whose mass reaches P (default 1)\n"
    "  --seed S            sampling seed; the same seed gives the same text (default 0)\n"
    "  --help              this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 usage error (also: not a text model)\n";
}  // namespace

int run_generate(int argc, char** argv) {
  const Args args = parse_args("generate", argc, argv,
                               {{"prompt"}, {"max-tokens"}, {"temperature"}, {"top-k"}, {"top-p"}, {"seed"}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  GenerateRequest request;
  request.prompt = args.text_or("prompt", "");
  request.max_tokens = args.integer_or("max-tokens", 200, 0, std::int64_t{1} << 40);
  request.temperature = args.number_or("temperature", 1.0, 0, 1e6);
  request.top_p = args.number_or("top-p", 1.0, std::numeric_limits<double>::min(), 1);
  request.top_k = args.integer_or("top-k", 0, 0, std::int64_t{1} << 40);
  request.seed = static_cast<std::uint64_t>(args.integer_or("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  const std::string path = resolve_checkpoint(args.positional[0]);
  CheckpointConfig info = read_checkpoint_config(path);
  const Task& task = task_for(info.config.model.type);
  if (task.generate == nullptr)
    throw UsageError("ouro generate: '" + path + "' holds a model.type = \"" + info.config.model.type +
                     "\" model, which does not generate text (char_lstm does)");
  TaskModel model = load_trained_model(path, info);
  task.generate(info.config, model, request, stdout);
  std::fputc('\n', stdout);
  return kExitOk;
}

}  // namespace ouro::cli
