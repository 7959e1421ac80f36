// What every subcommand shares: exit codes, the usage-error type, flag parsing with
// "did you mean" for unknown flags, and typed flag values.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ouro/core/error.h"

namespace ouro::cli {

// Exit codes. A usage error is anything the user must change on the command line or in the
// config (unknown command or flag, missing argument, bad value, invalid config): 2. A run that
// fails on its own terms (missing data file, corrupt checkpoint, I/O error): 1.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
// Training stopped by SIGINT / SIGTERM after writing its checkpoint (128 + SIGINT, as shells
// report an interrupted command); the run can be resumed.
inline constexpr int kExitInterrupted = 130;

class UsageError : public Error {
 public:
  using Error::Error;
};

struct FlagSpec {
  std::string name;          // without the dashes: "max-tokens"
  bool takes_value = true;   // false: a switch
  bool repeatable = false;   // --set a=1 --set b=2
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // switches map to {"true"}
  bool help = false;                                       // --help or -h was given

  bool has(const std::string& name) const { return values.count(name) != 0; }
  const std::vector<std::string>& all(const std::string& name) const;
  std::optional<std::string> text(const std::string& name) const;
  // Typed values; a bad or out-of-range one is a UsageError naming the flag.
  std::string text_or(const std::string& name, const std::string& fallback) const;
  std::int64_t integer_or(const std::string& name, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  // min_open: the value must exceed min, not only reach it, as for "(0, 1]".
  double number_or(const std::string& name, double fallback, double min, double max, bool min_open = false) const;
};

// Parses argv[1..argc) of a subcommand (argv[0] is its name): "--name value", "--name=value",
// switches, "--" ends the flags. Unknown flags, missing values and a positional count outside
// [min_positional, max_positional] throw UsageError (unless --help was given).
Args parse_args(const std::string& command, int argc, char** argv, const std::vector<FlagSpec>& flags,
                std::size_t min_positional, std::size_t max_positional);

}  // namespace ouro::cli
