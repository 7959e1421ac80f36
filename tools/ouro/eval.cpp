// `ouro eval CKPT --data PATH`: the loss and metrics of a trained model on a data file.
#include <cstdio>

#include "cli.h"
#include "ouro/optim/sgd.h"
#include "ouro/train/trainer.h"
#include "task.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro eval CKPT --data PATH [--batch-size N] [--adapter FILE]\n"
    "       ouro eval CKPT --validation [--adapter FILE]\n"
    "\n"
    "Rebuilds the model of a checkpoint written by `ouro train` (its config is stored in it),\n"
    "loads the weights and prints the loss and metrics over all of PATH, read the way the\n"
    "run's [data] section says (a corpus for char_lstm and gpt, a CSV for forecaster and mlp).\n"
    "Text models also print bits per byte (cross-entropy per UTF-8 byte of the text scored), the\n"
    "unit in which character and token models compare.\n"
    "With --validation (char_lstm, gpt), the model is scored on its run's own validation split:\n"
    "the entries of data.path held out by data.validation_fraction and train.seed -- the same\n"
    "text for every run of the same corpus, fraction and seed.\n"
    "\n"
    "CKPT: a checkpoint file, or a run directory (its newest checkpoint).\n"
    "\n"
    "options:\n"
    "  --data PATH       the data to evaluate on\n"
    "  --validation      the run's validation split instead (text models)\n"
    "  --batch-size N    samples per batch (default: the run's train.batch_size)\n"
    "  --adapter FILE    a LoRA adapter of `ouro finetune` applied (unmerged) to CKPT\n"
    "  --help            this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure (unreadable checkpoint or data), 2 usage error\n";
}  // namespace

int run_eval(int argc, char** argv) {
  const Args args = parse_args("eval", argc, argv, {{"data"}, {"batch-size"}, {"validation", false}, {"adapter"}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (!args.has("data") && !args.has("validation"))
    throw UsageError("ouro eval: --data PATH is required (or --validation: the run's own validation split; see "
                     "ouro eval --help)");
  if (args.has("data") && args.has("validation"))
    throw UsageError("ouro eval: give --data PATH or --validation, not both");
  const std::string path = resolve_checkpoint(args.positional[0]);
  CheckpointConfig info = read_checkpoint_config(path);
  const std::int64_t batch_size = args.integer_or("batch-size", info.config.train.batch_size, 1, 1 << 24);
  const Task& task = task_for(info.config.model.type);
  if (args.has("validation")) {
    if (task.validation_report == nullptr)
      throw UsageError("ouro eval --validation: model.type = \"" + info.config.model.type +
                       "\" has no validation split of a text corpus (char_lstm and gpt do); use --data PATH");
    TaskModel model = load_trained_model(path, info, args.text_or("adapter", ""));
    std::printf("validation split of %s (validation_fraction %g, seed %lld)\n", info.config.data.path.c_str(),
                info.config.data.validation_fraction, static_cast<long long>(info.config.train.seed));
    for (const auto& [key, value] : task.validation_report(info.config, model)) std::printf("%s: %.6g\n", key.c_str(), value);
    return kExitOk;
  }
  TaskModel model = load_trained_model(path, info, args.text_or("adapter", ""));
  const Dataset data = task.evaluation_data(info.config, model, *args.text("data"));

  Trainer trainer(model.model);
  CompileOptions compile;
  // evaluate needs no optimizer, but compile wants one: a plain SGD that never steps.
  compile.optimizer = [](std::vector<Tensor> params) { return std::make_shared<SGD>(std::move(params), SGDOptions{.lr = 1}); };
  compile.loss = model.loss;
  for (const std::string& m : model.metrics) compile.metrics.emplace_back(m);
  trainer.compile(std::move(compile));
  const auto results = trainer.evaluate(data, batch_size);
  std::printf("samples: %lld\n", static_cast<long long>(data.size()));
  for (const auto& [key, value] : results) std::printf("%s: %.6g\n", key.c_str(), value);
  if (task.extra_metrics)
    for (const auto& [key, value] : task.extra_metrics(info.config, model, *args.text("data")))
      std::printf("%s: %.6g\n", key.c_str(), value);
  return kExitOk;
}

}  // namespace ouro::cli
