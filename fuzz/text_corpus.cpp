// Fuzzes the text-corpus reader (fortune format: entries between "%" lines, ANSI escapes
// stripped, any bytes as UTF-8) and what training does next with the entries: the character
// vocabulary, its encode/decode, the seeded validation split and the joined training text.
// The first byte chooses the options; the rest is the file.
#include <string>

#include "fuzz_input.h"
#include "ouro/data/char_vocab.h"
#include "ouro/data/text_corpus.h"
#include "ouro/data/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  if (size < 1) return 0;
  const unsigned options_byte = data[0];
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  const std::vector<std::string> entries = parse_fortune_text(text, {.strip_ansi_escapes = (options_byte & 1) != 0});

  for (const std::string& e : entries)
    if (e.empty() || e.back() != '\n') fuzz::property_failed("an entry does not end in a newline");
  // The joined text, read back, gives the same entries: what the model is trained on is the corpus.
  if (parse_fortune_text(join_entries(entries), {.strip_ansi_escapes = false}) != entries)
    fuzz::property_failed("join_entries does not read back to the same entries");

  const std::int64_t min_count = 1 + ((options_byte >> 1) & 3);
  const CharVocab vocab = CharVocab::build(entries, {.min_count = min_count});
  for (const std::string& e : entries) {
    const std::vector<std::int64_t> ids = vocab.encode(e);
    for (std::int64_t id : ids)
      if (id < 0 || id >= vocab.size()) fuzz::property_failed("CharVocab::encode gave an id outside the vocabulary");
    // Every character is kept at min_count 1, so valid UTF-8 reads back exactly.
    if (min_count == 1 && utf8::is_valid(e) && vocab.decode(ids) != e)
      fuzz::property_failed("CharVocab decode(encode(entry)) != entry");
  }
  fuzz::expect_error_or_success([&] { CharVocab::from_json(vocab.to_json()); });

  fuzz::expect_error_or_success([&] {
    const double fraction = static_cast<double>(options_byte >> 4) / 16.0;
    const TextSplit split = split_entries(entries, fraction, options_byte);
    if (split.train.size() + split.validation.size() != entries.size())
      fuzz::property_failed("split_entries lost or invented entries");
  });
  return 0;
}
