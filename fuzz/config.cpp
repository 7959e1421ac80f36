// Fuzzes the training-config loader (TOML syntax, the schema's types, ranges and allowed
// values, the per-model-type checks, `--set` overrides). Input: the TOML text, then after a NUL
// byte the overrides, one per line. A config that loads must also survive config_to_toml:
// what `ouro train` writes into the run directory must read back to the same config.
#include <string>

#include "fuzz_input.h"
#include "ouro/io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  const std::vector<std::string_view> parts = fuzz::split_at_nul(fuzz::as_text(data, size), 2);
  std::vector<std::string> overrides;
  if (parts.size() > 1) {
    std::string_view rest = parts[1];
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      overrides.emplace_back(rest.substr(0, newline));
      rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    }
  }
  std::string written;
  try {
    written = config_to_toml(parse_config(parts[0], "fuzz.toml", overrides));
  } catch (const Error&) {
    return 0;
  }
  try {
    if (config_to_toml(parse_config(written, "written.toml")) != written)
      fuzz::property_failed("config_to_toml does not read back to the same config");
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n---\n%s\n", e.what(), written.c_str());
    fuzz::property_failed("config_to_toml wrote a config that does not load");
  }
  return 0;
}
