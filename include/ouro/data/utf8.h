// UTF-8 decoding and encoding with a defined answer for every byte string: each malformed
// piece becomes one U+FFFD, so any file can be read and every decoded text re-encodes to valid UTF-8.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ouro::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

// The code points of `text`. A byte that cannot start a sequence (0x80-0xBF, 0xC0, 0xC1,
// 0xF5-0xFF), a sequence cut short (by the end or by a byte that is not a continuation), an
// overlong form, a surrogate (U+D800-U+DFFF) or a value above U+10FFFF each decode to one
// U+FFFD and reading resumes at the next byte that was not consumed as a valid continuation
// (the "maximal subpart" rule of Unicode 15, §3.9, which WHATWG and Python also follow).
std::vector<char32_t> decode(std::string_view text);

// Decodes the sequence starting at text[pos]; stores its length in bytes (>= 1) in *length.
char32_t decode_one(std::string_view text, std::size_t pos, std::size_t* length);

// The UTF-8 bytes of one code point; surrogates and values above U+10FFFF encode as U+FFFD.
std::string encode(char32_t code_point);
void append(std::string& out, char32_t code_point);
std::string encode(const std::vector<char32_t>& code_points);

// True when `text` is well-formed UTF-8 (decode would produce no U+FFFD of its own making).
bool is_valid(std::string_view text);

}  // namespace ouro::utf8
