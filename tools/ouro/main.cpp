// The ouro command line: one subcommand per file; this file dispatches.
#include <cstdio>
#include <cstring>
#include <string>

#include "ouro/core/error.h"

int run_info(int argc, char** argv);

namespace {
const char* kUsage =
    "usage: ouro <command> [options]\n"
    "\n"
    "commands:\n"
    "  info    version, thread count and memory statistics of this build\n"
    "\n"
    "More commands (train, resume, generate, ...) arrive with the training loop.\n";
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  try {
    if (command == "info") return run_info(argc - 1, argv + 1);
  } catch (const ouro::Error& e) {
    std::fprintf(stderr, "ouro %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "ouro: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
