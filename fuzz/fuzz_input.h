// What every fuzz target shares: the input as text, a split of it into parts at NUL bytes
// (several files in one input), and the rule that decides pass or fail: ouro::Error is the
// only acceptable way to reject input; any other exception escapes and libFuzzer reports it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ouro/core/error.h"

namespace ouro::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The parts of `text` between NUL bytes (at most `max_parts`; the last takes the rest, NULs
// included). Text formats never need a NUL, so it is a separator the fuzzer can learn.
inline std::vector<std::string_view> split_at_nul(std::string_view text, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const std::size_t nul = text.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(text.substr(0, nul));
    text.remove_prefix(nul + 1);
  }
  parts.push_back(text);
  return parts;
}

// A property the parser promises (a round trip, a cover) did not hold: a bug even though
// nothing crashed, so crash on purpose to make libFuzzer keep the input.
[[noreturn]] inline void property_failed(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

// Runs `parse`; an ouro::Error is the parser rejecting bad input, which is fine.
template <typename Parse>
void expect_error_or_success(Parse&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
}

}  // namespace ouro::fuzz
