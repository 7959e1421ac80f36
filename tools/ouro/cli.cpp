// Flag parsing shared by the subcommands.
#include "cli.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ouro/io/config.h"

namespace ouro::cli {

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> none;
  const auto it = values.find(name);
  return it == values.end() ? none : it->second;
}

std::optional<std::string> Args::text(const std::string& name) const {
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second.back();
}

std::string Args::text_or(const std::string& name, const std::string& fallback) const {
  return text(name).value_or(fallback);
}

std::int64_t Args::integer_or(const std::string& name, std::int64_t fallback, std::int64_t min,
                              std::int64_t max) const {
  const auto given = text(name);
  if (!given) return fallback;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(given->data(), given->data() + given->size(), v);
  if (given->empty() || ec != std::errc() || end != given->data() + given->size())
    throw UsageError("--" + name + " " + *given + ": expected an integer");
  if (v < min || v > max)
    throw UsageError("--" + name + " " + *given + ": expected an integer in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
  return v;
}

namespace {
// 0.5, 1e+06: std::to_string's fixed six decimals would print 0 for a tiny bound.
std::string format_bound(double x) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", x);
  return buffer;
}
}  // namespace

double Args::number_or(const std::string& name, double fallback, double min, double max, bool min_open) const {
  const auto given = text(name);
  if (!given) return fallback;
  char* end = nullptr;
  const double v = std::strtod(given->c_str(), &end);
  if (given->empty() || end != given->c_str() + given->size() || std::isnan(v))
    throw UsageError("--" + name + " " + *given + ": expected a number");
  if (v < min || (min_open && v == min) || v > max)
    throw UsageError("--" + name + " " + *given + ": expected a number in " + (min_open ? "(" : "[") +
                     format_bound(min) + ", " + format_bound(max) + "]");
  return v;
}

Args parse_args(const std::string& command, int argc, char** argv, const std::vector<FlagSpec>& flags,
                std::size_t min_positional, std::size_t max_positional) {
  Args args;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-' || (arg[1] != '-' && arg != "-h")) {
      args.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : flags)
      if (f.name == name) spec = &f;
    if (spec == nullptr) {
      std::vector<std::string> names{"help"};
      for (const FlagSpec& f : flags) names.push_back(f.name);
      const std::string best = closest_name(name, names);
      throw UsageError("unknown option --" + name + (best.empty() ? "" : " (did you mean --" + best + "?)"));
    }
    if (!spec->takes_value) {
      if (value) throw UsageError("option --" + name + " takes no value");
      value = "true";
    } else if (!value) {
      if (i + 1 >= argc) throw UsageError("option --" + name + " needs a value");
      value = argv[++i];
    }
    if (!spec->repeatable && args.values.count(name)) throw UsageError("option --" + name + " given twice");
    args.values[name].push_back(*value);
  }
  if (args.help) return args;
  if (args.positional.size() < min_positional)
    throw UsageError("ouro " + command + ": missing argument (see ouro " + command + " --help)");
  if (args.positional.size() > max_positional)
    throw UsageError("ouro " + command + ": unexpected argument '" + args.positional[max_positional] + "'");
  return args;
}

}  // namespace ouro::cli
