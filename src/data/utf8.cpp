#include "ouro/data/utf8.h"

#include "ouro/core/error.h"

namespace ouro::utf8 {
namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

char32_t decode_one(std::string_view text, std::size_t pos, std::size_t* length) {
  OURO_CHECK(pos < text.size(), "utf8::decode_one: position ", pos, " is past the end of a text of ", text.size(),
             " bytes");
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  *length = 1;
  if (lead < 0x80) return lead;
  std::size_t need;
  char32_t value;
  // The allowed range of the second byte narrows for some leads: that is what rules out
  // overlong forms (E0, F0), surrogates (ED) and values above U+10FFFF (F4) in one check.
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    value = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    value = lead & 0x07;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return kReplacement;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    const std::size_t i = pos + k;
    if (i >= text.size()) return kReplacement;  // cut short by the end: consumed so far is one U+FFFD
    const unsigned char b = byte(i);
    if (k == 1 ? (b < low || b > high) : !is_continuation(b)) return kReplacement;
    value = (value << 6) | (b & 0x3F);
    *length = k + 1;
  }
  return value;
}

std::vector<char32_t> decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t length = 1;
    out.push_back(decode_one(text, pos, &length));
    pos += length;
  }
  return out;
}

void append(std::string& out, char32_t c) {
  if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = kReplacement;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string encode(char32_t code_point) {
  std::string out;
  append(out, code_point);
  return out;
}

std::string encode(const std::vector<char32_t>& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append(out, c);
  return out;
}

bool is_valid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t length = 1;
    const char32_t c = decode_one(text, pos, &length);
    // A genuine U+FFFD in the text is three bytes long; a made-up one covers fewer or is a lone bad byte.
    if (c == kReplacement && length != 3) return false;
    if (c == kReplacement && text.substr(pos, 3) != "\xEF\xBF\xBD") return false;
    pos += length;
  }
  return true;
}

}  // namespace ouro::utf8
