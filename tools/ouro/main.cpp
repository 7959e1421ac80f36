// The ouro command line: one subcommand per file; this file dispatches and turns exceptions
// into exit codes (0 success, 1 runtime failure, 2 usage or config error).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli.h"
#include "ouro/core/error.h"
#include "ouro/io/config.h"
#include "ouro/kernels/cpu/parallel.h"

namespace ouro::cli {
int run_info(int argc, char** argv);
int run_train(int argc, char** argv);
int run_finetune(int argc, char** argv);
int run_merge(int argc, char** argv);
int run_resume(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_forecast(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_tokenizer(int argc, char** argv);
}  // namespace ouro::cli

namespace {
using namespace ouro::cli;

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const std::vector<Command> kCommands = {
    {"train", run_train, "train a model from a TOML config into a run directory"},
    {"finetune", run_finetune, "continue training a trained model on new data: full, frozen layers, or LoRA"},
    {"merge", run_merge, "fold a LoRA adapter into its base model's weights, as a plain checkpoint"},
    {"resume", run_resume, "continue an interrupted run from its latest checkpoint, bit for bit"},
    {"eval", run_eval, "loss and metrics of a checkpoint on a data file"},
    {"generate", run_generate, "sample text from a character model, streamed as it is produced"},
    {"forecast", run_forecast, "closed-loop forecast of a series model, as CSV"},
    {"inspect", run_inspect, "tensors, shapes, dtypes, parameter count and metadata of a checkpoint"},
    {"tokenizer", run_tokenizer, "BPE tokenizer: encode text to ids, decode ids, train a vocabulary"},
    {"info", run_info, "version, thread count and memory statistics of this build"},
};

// A message that already starts with "ouro <command>: " (thrown where the command is known)
// loses that prefix, which the line printed for it starts with anyway.
const char* without_prefix(const char* message, const char* command) {
  const std::string prefix = std::string("ouro ") + command + ": ";
  return std::strncmp(message, prefix.c_str(), prefix.size()) == 0 ? message + prefix.size() : message;
}

void print_usage(std::FILE* out) {
  std::fputs("usage: ouro <command> [options]     (ouro <command> --help for each)\n\ncommands:\n", out);
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fputs(
      "\nexit codes: 0 success; 1 runtime failure (unreadable data or checkpoint, I/O error,\n"
      "failed training); 2 usage error (unknown command or option, missing or extra argument,\n"
      "bad option value, invalid config: unknown key, wrong type, out of range); 130 training\n"
      "interrupted by Ctrl-C / SIGTERM after writing its checkpoint (continue with ouro resume).\n"
      "threads: OURO_NUM_THREADS, an integer in [1, 4096] (default: all cores; another value\n"
      "is a usage error).\n",
      out);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (command != c.name) continue;
    // A bad OURO_NUM_THREADS is read on the first parallel kernel, which may come after a run
    // directory was created; checked here, every command refuses it before doing anything.
    try {
      ouro::num_threads();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ouro %s: error: %s\n", c.name, e.what());
      return kExitUsage;
    }
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "ouro %s: error: %s\n", c.name, without_prefix(e.what(), c.name));
      return kExitUsage;
    } catch (const ouro::ConfigError& e) {
      std::fprintf(stderr, "ouro %s: config error: %s\n", c.name, without_prefix(e.what(), c.name));
      return kExitUsage;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ouro %s: error: %s\n", c.name, without_prefix(e.what(), c.name));
      return kExitFailure;
    }
  }
  std::vector<std::string> names;
  for (const Command& c : kCommands) names.emplace_back(c.name);
  const std::string best = ouro::closest_name(command, names);
  std::fprintf(stderr, "ouro: unknown command '%s'%s\n\n", command.c_str(),
               best.empty() ? "" : (" (did you mean '" + best + "'?)").c_str());
  print_usage(stderr);
  return kExitUsage;
}
