// The ouro command line: one subcommand per file; this file dispatches.
#include <cstdio>
#include <cstring>
#include <string>

#include "ouro/core/error.h"

int run_demo(int argc, char** argv);

int main(int argc, char** argv) {
  const std::string usage = "usage: ouro <command> [options]\n\ncommands:\n  demo    train the source document's 3-5-2 network and print the falling loss\n";
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(usage.c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "demo") return run_demo(argc - 1, argv + 1);
  } catch (const ouro::Error& e) {
    std::fprintf(stderr, "ouro %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "ouro: unknown command '%s'\n\n%s", command.c_str(), usage.c_str());
  return 2;
}
