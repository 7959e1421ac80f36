// UTF-8: round trips over every plane, and the defined answer (one U+FFFD per maximal
// subpart) for each kind of malformed input.
#include <gtest/gtest.h>

#include "ouro/core/error.h"
#include "ouro/data/utf8.h"

namespace ouro::testing {
namespace {

TEST(Utf8, RoundTripsAsciiChineseAndAstral) {
  const std::string text = "a\xC3\xA9\xE5\x85\xB0\xF0\x9F\x98\x80\n";  // a, é, 兰, 😀, newline
  const std::vector<char32_t> expected = {U'a', 0xE9, 0x5170, 0x1F600, U'\n'};
  EXPECT_EQ(utf8::decode(text), expected);
  EXPECT_EQ(utf8::encode(expected), text);
  EXPECT_TRUE(utf8::is_valid(text));
  for (char32_t c : {char32_t{0}, char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800}, char32_t{0xFFFF},
                     char32_t{0x10000}, char32_t{0x10FFFF}}) {
    const std::string bytes = utf8::encode(c);
    ASSERT_EQ(utf8::decode(bytes).size(), 1u) << static_cast<std::uint32_t>(c);
    EXPECT_EQ(static_cast<std::uint32_t>(utf8::decode(bytes)[0]), static_cast<std::uint32_t>(c));
  }
}

TEST(Utf8, MalformedPiecesBecomeOneReplacementEach) {
  const char32_t R = utf8::kReplacement;
  // A lone continuation byte and an invalid lead byte.
  EXPECT_EQ(utf8::decode("a\x80" "b\xFF"), (std::vector<char32_t>{U'a', R, U'b', R}));
  // A three-byte sequence cut short by 'x' (its two bytes are one maximal subpart), then one cut by the end.
  EXPECT_EQ(utf8::decode("\xE5\x85x\xE5"), (std::vector<char32_t>{R, U'x', R}));
  // Overlong '/' (C0 AF): both bytes are bad on their own.
  EXPECT_EQ(utf8::decode("\xC0\xAF"), (std::vector<char32_t>{R, R}));
  // Overlong three-byte form (E0 80 80) and a surrogate (ED A0 80): the lead alone, then two stray continuations.
  EXPECT_EQ(utf8::decode("\xE0\x80\x80"), (std::vector<char32_t>{R, R, R}));
  EXPECT_EQ(utf8::decode("\xED\xA0\x80"), (std::vector<char32_t>{R, R, R}));
  // Above U+10FFFF (F4 90 80 80).
  EXPECT_EQ(utf8::decode("\xF4\x90\x80\x80"), (std::vector<char32_t>{R, R, R, R}));
  EXPECT_FALSE(utf8::is_valid("\xE5\x85"));
  EXPECT_FALSE(utf8::is_valid("\xF0\x9F\x98"));
  EXPECT_TRUE(utf8::is_valid("\xEF\xBF\xBD"));  // a real U+FFFD is valid text
  // Encoding never produces invalid UTF-8.
  EXPECT_EQ(utf8::encode(char32_t{0xD800}), "\xEF\xBF\xBD");
  EXPECT_EQ(utf8::encode(char32_t{0x110000}), "\xEF\xBF\xBD");
}

TEST(Utf8, DecodingPastTheEndIsAnError) {
  std::size_t length = 0;
  EXPECT_EQ(utf8::decode_one("ab", 1, &length), U'b');
  try {
    utf8::decode_one("ab", 2, &length);  // used to read text[2], past the view
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("position 2 is past the end of a text of 2 bytes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ouro::testing
