// CharVocab: a character-level vocabulary over Unicode code points (not bytes, so one Chinese
// character is one token), built from training text with counts, with an unknown id, and
// serialisable to JSON so that a checkpoint's metadata can rebuild it for generation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ouro {

struct CharVocabOptions {
  std::int64_t min_count = 1;  // characters seen fewer times than this map to the unknown id
  std::int64_t max_size = 0;   // at most this many ids including the unknown one (0: no limit)
};

class CharVocab {
 public:
  // Id 0 is the unknown character; it decodes to U+FFFD.
  static constexpr std::int64_t kUnknown = 0;

  CharVocab();  // only the unknown id
  // Counts the code points of `text` (UTF-8; malformed bytes count as U+FFFD, see utf8.h) and
  // gives ids 1, 2, ... to the kept characters, most frequent first, ties by code point, so the
  // same text always gives the same ids.
  static CharVocab build(std::string_view text, CharVocabOptions options = {});
  static CharVocab build(const std::vector<std::string>& texts, CharVocabOptions options = {});

  std::int64_t size() const { return static_cast<std::int64_t>(chars_.size()); }
  // The id of a code point, or kUnknown.
  std::int64_t id(char32_t c) const;
  // The code point of an id (U+FFFD for kUnknown); an id outside [0, size) is an error.
  char32_t code_point(std::int64_t id) const;
  // How often the id's character occurred in the text built from (for kUnknown: the dropped
  // characters together).
  std::int64_t count(std::int64_t id) const;
  const std::vector<std::int64_t>& counts() const { return counts_; }

  std::vector<std::int64_t> encode(std::string_view text) const;
  // UTF-8 text of the ids; an id outside [0, size) is an error naming it.
  std::string decode(const std::vector<std::int64_t>& ids) const;
  std::string decode_one(std::int64_t id) const;  // for streaming output token by token

  // {"type": "char", "unknown": 0, "code_points": [...], "counts": [...]}: code points as
  // numbers, so that no character needs escaping and the JSON stays ASCII.
  std::string to_json() const;
  // The inverse of to_json; a malformed document is an error naming the key at fault.
  static CharVocab from_json(const std::string& json);

  bool operator==(const CharVocab& other) const { return chars_ == other.chars_ && counts_ == other.counts_; }

 private:
  void index();
  std::vector<char32_t> chars_;  // by id; chars_[0] = U+FFFD stands for the unknown id
  std::vector<std::int64_t> counts_;
  std::unordered_map<char32_t, std::int64_t> ids_;
};

}  // namespace ouro
