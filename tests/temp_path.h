// Temporary file names for tests. Several test processes (ctest -j, or two checkouts on one
// machine) run at once, so a fixed name in /tmp lets one test read another's half-written
// file; the process id in the name keeps them apart.
#pragma once
#include <filesystem>
#include <string>

#include <unistd.h>

namespace ouro::testing {

inline std::filesystem::path unique_temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()));
}

}  // namespace ouro::testing
