#include "ouro/data/text_tokenizer.h"

#include <nlohmann/json.hpp>

#include "ouro/core/error.h"
#include "ouro/data/utf8.h"

namespace ouro {

TextTokenizer TextTokenizer::bytes() { return TextTokenizer{}; }

TextTokenizer TextTokenizer::chars(CharVocab vocab) {
  TextTokenizer t;
  t.kind_ = Kind::Char;
  t.vocab_ = std::make_shared<const CharVocab>(std::move(vocab));
  return t;
}

TextTokenizer TextTokenizer::bpe(BpeTokenizer tokenizer) {
  TextTokenizer t;
  t.kind_ = Kind::Bpe;
  t.bpe_ = std::make_shared<const BpeTokenizer>(std::move(tokenizer));
  return t;
}

const char* TextTokenizer::kind_name() const {
  switch (kind_) {
    case Kind::Byte: return "byte";
    case Kind::Char: return "char";
    case Kind::Bpe: return "bpe";
  }
  return "?";
}

std::int64_t TextTokenizer::vocab_size() const {
  switch (kind_) {
    case Kind::Byte: return 256;
    case Kind::Char: return vocab_->size();
    case Kind::Bpe: return bpe_->vocab_size();
  }
  return 0;
}

std::vector<std::int64_t> TextTokenizer::encode(std::string_view text) const {
  switch (kind_) {
    case Kind::Byte: {
      std::vector<std::int64_t> ids(text.size());
      for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
      return ids;
    }
    case Kind::Char: return vocab_->encode(text);
    case Kind::Bpe: return bpe_->encode(text);
  }
  return {};
}

std::string TextTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  switch (kind_) {
    case Kind::Byte: {
      std::string out(ids.size(), '\0');
      for (std::size_t i = 0; i < ids.size(); ++i) {
        OURO_CHECK(ids[i] >= 0 && ids[i] < 256, "byte tokenizer: token id ", ids[i], " is outside [0, 256)");
        out[i] = static_cast<char>(ids[i]);
      }
      return out;
    }
    case Kind::Char: return vocab_->decode(ids);
    case Kind::Bpe: return bpe_->decode(ids);
  }
  return {};
}

std::vector<std::int64_t> TextTokenizer::token_bytes(std::string_view text, const std::vector<std::int64_t>& ids) const {
  std::vector<std::int64_t> out(ids.size());
  switch (kind_) {
    case Kind::Byte:
      std::fill(out.begin(), out.end(), 1);
      break;
    case Kind::Char: {
      // One id per decoded code point (malformed bytes included), as CharVocab::encode reads it.
      std::size_t pos = 0;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        OURO_CHECK(pos < text.size(), "TextTokenizer::token_bytes: more ids (", ids.size(), ") than characters");
        std::size_t length = 0;
        utf8::decode_one(text, pos, &length);
        out[i] = static_cast<std::int64_t>(length);
        pos += length;
      }
      break;
    }
    case Kind::Bpe:
      for (std::size_t i = 0; i < ids.size(); ++i) out[i] = static_cast<std::int64_t>(bpe_->decode({ids[i]}).size());
      break;
  }
  std::int64_t total = 0;
  for (const auto b : out) total += b;
  OURO_CHECK(total == static_cast<std::int64_t>(text.size()), "TextTokenizer::token_bytes: the ids spell ", total,
             " bytes, the text has ", text.size(), " (the ids are not encode(text))");
  return out;
}

std::string TextTokenizer::to_json() const {
  nlohmann::json j;
  j["type"] = kind_name();
  if (kind_ == Kind::Char) j["vocab"] = nlohmann::json::parse(vocab_->to_json());
  if (kind_ == Kind::Bpe) {
    std::vector<std::string> symbols;
    symbols.reserve(static_cast<std::size_t>(bpe_->vocab_size()));
    for (std::int64_t id = 0; id < bpe_->vocab_size(); ++id) symbols.push_back(bpe_->symbol(id));
    nlohmann::json merges = nlohmann::json::array();
    for (const auto& [a, b] : bpe_->merges()) merges.push_back({a, b});
    j["symbols"] = std::move(symbols);
    j["merges"] = std::move(merges);
  }
  return j.dump();
}

TextTokenizer TextTokenizer::from_json(const std::string& json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  OURO_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(),
             "TextTokenizer::from_json: expected an object with a \"type\" (byte, char or bpe)");
  const std::string type = j["type"];
  try {
    if (type == "byte") return bytes();
    if (type == "char") return chars(CharVocab::from_json(j.at("vocab").dump()));
    if (type == "bpe") {
      auto symbols = j.at("symbols").get<std::vector<std::string>>();
      std::vector<std::pair<std::string, std::string>> merges;
      for (const auto& m : j.at("merges")) {
        OURO_CHECK(m.is_array() && m.size() == 2, "TextTokenizer::from_json: a merge is not a pair: ", m.dump());
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      }
      return bpe(BpeTokenizer::from_vocabulary(std::move(symbols), std::move(merges)));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("TextTokenizer::from_json: malformed \"" + type + "\" tokenizer: " + e.what());
  }
  throw Error("TextTokenizer::from_json: unknown tokenizer type \"" + type + "\" (expected byte, char or bpe)");
}

const CharVocab& TextTokenizer::char_vocab() const {
  OURO_CHECK(kind_ == Kind::Char, "TextTokenizer: a ", kind_name(), " tokenizer has no CharVocab");
  return *vocab_;
}

const BpeTokenizer& TextTokenizer::bpe_tokenizer() const {
  OURO_CHECK(kind_ == Kind::Bpe, "TextTokenizer: a ", kind_name(), " tokenizer is not BPE");
  return *bpe_;
}

}  // namespace ouro
