// TextTokenizer: one interface over the tokenizers a token language model can be trained
// with — bytes (vocabulary 256), characters (a CharVocab of code points) or byte-level BPE
// (GPT-2's files, or a vocabulary learned from the training text) — with the byte length of
// every token in the original text (the unit models are compared in: bits per byte) and a
// JSON form that travels in checkpoints so a trained model carries its own tokenizer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/data/bpe_tokenizer.h"
#include "ouro/data/char_vocab.h"

namespace ouro {

class TextTokenizer {
 public:
  enum class Kind { Byte, Char, Bpe };

  static TextTokenizer bytes();
  static TextTokenizer chars(CharVocab vocab);
  static TextTokenizer bpe(BpeTokenizer tokenizer);

  Kind kind() const { return kind_; }
  const char* kind_name() const;  // "byte", "char", "bpe"
  std::int64_t vocab_size() const;
  std::vector<std::int64_t> encode(std::string_view text) const;
  // Byte and BPE decoding is exact; characters outside a CharVocab decode as U+FFFD. Ids
  // outside the vocabulary are an error naming them.
  std::string decode(const std::vector<std::int64_t>& ids) const;
  // The UTF-8 bytes of `text` each id of encode(text) stands for (they add up to text.size()).
  std::vector<std::int64_t> token_bytes(std::string_view text, const std::vector<std::int64_t>& ids) const;

  // {"type": "byte"} | {"type": "char", "vocab": <CharVocab JSON>} |
  // {"type": "bpe", "symbols": [...], "merges": [["a", "b"], ...]}
  std::string to_json() const;
  // The inverse of to_json; a malformed document is an error naming what is wrong.
  static TextTokenizer from_json(const std::string& json);

  const CharVocab& char_vocab() const;   // Kind::Char only
  const BpeTokenizer& bpe_tokenizer() const;  // Kind::Bpe only

 private:
  Kind kind_ = Kind::Byte;
  std::shared_ptr<const CharVocab> vocab_;
  std::shared_ptr<const BpeTokenizer> bpe_;
};

}  // namespace ouro
