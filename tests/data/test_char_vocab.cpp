// CharVocab: ids by frequency, the unknown id, encode/decode of Chinese, JSON round trip and
// the errors for bad ids and bad documents.
#include <gtest/gtest.h>

#include "ouro/core/error.h"
#include "ouro/data/char_vocab.h"

namespace ouro::testing {
namespace {

TEST(CharVocab, IdsByFrequencyThenCodePoint) {
  const CharVocab vocab = CharVocab::build("abbccc d");
  ASSERT_EQ(vocab.size(), 6);  // unknown, c, b, ' ', a, d
  EXPECT_EQ(vocab.id(U'c'), 1);
  EXPECT_EQ(vocab.id(U'b'), 2);
  EXPECT_EQ(vocab.id(U' '), 3);  // ' ' (0x20) before 'a' and 'd' among the count-1 ties
  EXPECT_EQ(vocab.id(U'a'), 4);
  EXPECT_EQ(vocab.id(U'd'), 5);
  EXPECT_EQ(vocab.count(1), 3);
  EXPECT_EQ(vocab.count(CharVocab::kUnknown), 0);
  EXPECT_EQ(vocab.id(U'z'), CharVocab::kUnknown);
}

TEST(CharVocab, ChineseRoundTripAndUnknown) {
  const std::string poem = "床前明月光，疑是地上霜。\n";
  const CharVocab vocab = CharVocab::build(poem);
  EXPECT_EQ(vocab.size(), 1 + 13);
  const auto ids = vocab.encode(poem);
  EXPECT_EQ(ids.size(), 13u);  // one id per character, not per byte
  EXPECT_EQ(vocab.decode(ids), poem);
  // A character never seen maps to the unknown id and decodes to U+FFFD.
  const auto unseen = vocab.encode("举头望明月");
  EXPECT_EQ(unseen[0], CharVocab::kUnknown);
  EXPECT_NE(unseen[3], CharVocab::kUnknown);
  EXPECT_EQ(vocab.decode_one(CharVocab::kUnknown), "\xEF\xBF\xBD");
  EXPECT_THROW(vocab.decode({vocab.size()}), Error);
  EXPECT_THROW(vocab.decode({-1}), Error);
}

TEST(CharVocab, MinCountAndMaxSizeFoldIntoUnknown) {
  const CharVocab vocab = CharVocab::build("aaabbc", CharVocabOptions{.min_count = 2});
  EXPECT_EQ(vocab.size(), 3);
  EXPECT_EQ(vocab.id(U'c'), CharVocab::kUnknown);
  EXPECT_EQ(vocab.count(CharVocab::kUnknown), 1);
  const CharVocab small = CharVocab::build("aaabbc", CharVocabOptions{.max_size = 2});
  EXPECT_EQ(small.size(), 2);
  EXPECT_EQ(small.count(CharVocab::kUnknown), 3);
  EXPECT_THROW(CharVocab::build("a", CharVocabOptions{.min_count = 0}), Error);
}

TEST(CharVocab, JsonRoundTripAndErrors) {
  const CharVocab vocab = CharVocab::build("Hello, 世界! \xFF");
  const std::string json = vocab.to_json();
  for (char c : json) EXPECT_LT(static_cast<unsigned char>(c), 0x80);  // ASCII only
  const CharVocab back = CharVocab::from_json(json);
  EXPECT_TRUE(back == vocab);
  EXPECT_EQ(back.encode("世界"), vocab.encode("世界"));
  try {
    CharVocab::from_json(R"({"type":"char","unknown":0,"code_points":[65533,97],"counts":[0]})");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("counts"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CharVocab::from_json(R"({"type":"char","unknown":0,"code_points":[65533,97,97],"counts":[0,1,1]})"),
               Error);
  EXPECT_THROW(CharVocab::from_json(R"({"type":"bpe"})"), Error);
  EXPECT_THROW(CharVocab::from_json("not json"), Error);
  // A surrogate is no character (UTF-8 cannot encode it): refused, naming the entry.
  try {
    CharVocab::from_json(R"({"type":"char","unknown":0,"code_points":[65533,55357],"counts":[0,1]})");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("code_points[1]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("surrogates excluded"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ouro::testing
