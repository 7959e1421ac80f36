// Exact text for scalar optimizer and schedule state (private to src/optim): doubles written in
// their shortest round-trip form, so a restored value is the same bits as the saved one.
#pragma once
#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <system_error>

#include "ouro/core/error.h"

namespace ouro::optim_detail {

inline std::string format_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

inline std::string format_int(std::int64_t value) { return std::to_string(value); }

inline const std::string& require_key(const std::map<std::string, std::string>& scalars, const std::string& key,
                                      const char* who) {
  const auto it = scalars.find(key);
  OURO_CHECK(it != scalars.end(), who, ": load_state: missing key \"", key, "\"");
  return it->second;
}

inline double parse_double(const std::map<std::string, std::string>& scalars, const std::string& key,
                           const char* who) {
  const std::string& text = require_key(scalars, key, who);
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  OURO_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size(), who, ": load_state: key \"", key,
             "\" holds \"", text, "\", not a number");
  return value;
}

inline std::int64_t parse_int(const std::map<std::string, std::string>& scalars, const std::string& key,
                              const char* who) {
  const std::string& text = require_key(scalars, key, who);
  std::int64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  OURO_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size(), who, ": load_state: key \"", key,
             "\" holds \"", text, "\", not an integer");
  return value;
}

}  // namespace ouro::optim_detail
