// Fuzzes the BPE tokenizer loader: encoder.json (symbol -> id), then after a NUL byte vocab.bpe
// (merges), then after another NUL some text. A tokenizer that loads must encode that text and
// decode it back to the same bytes (byte-level BPE spells every byte sequence).
#include <string>

#include "fuzz_input.h"
#include "ouro/data/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  const std::vector<std::string_view> parts = fuzz::split_at_nul(fuzz::as_text(data, size), 3);
  if (parts.size() < 2) return 0;
  fuzz::expect_error_or_success([&] {
    const BpeTokenizer tok = BpeTokenizer::parse(parts[0], parts[1], "encoder.json", "vocab.bpe");
    const std::string_view text = parts.size() > 2 ? parts[2] : parts[1];
    const std::vector<std::int64_t> ids = tok.encode(text);
    for (std::int64_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) fuzz::property_failed("encode gave an id outside the vocabulary");
    if (tok.decode(ids) != text) fuzz::property_failed("decode(encode(text)) != text");
  });
  return 0;
}
