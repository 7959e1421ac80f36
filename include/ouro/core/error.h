// ouro::Error: the one exception type the library throws for anything a user can act on.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ouro {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// OURO_CHECK(cond, "op: ", "what was expected", ...) throws ouro::Error with the parts joined.
// For user input only; internal invariants use assert.
#define OURO_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) throw ::ouro::Error(::ouro::detail::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace ouro
