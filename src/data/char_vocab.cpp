#include "ouro/data/char_vocab.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "ouro/core/error.h"
#include "ouro/data/utf8.h"

namespace ouro {

CharVocab::CharVocab() : chars_{utf8::kReplacement}, counts_{0} { index(); }

void CharVocab::index() {
  ids_.clear();
  // Id 0 is not indexed: U+FFFD in text maps to kUnknown through the miss path anyway, unless
  // it was common enough to get an id of its own.
  for (std::size_t i = 1; i < chars_.size(); ++i) ids_.emplace(chars_[i], static_cast<std::int64_t>(i));
}

CharVocab CharVocab::build(std::string_view text, CharVocabOptions options) {
  return build(std::vector<std::string>{std::string(text)}, options);
}

CharVocab CharVocab::build(const std::vector<std::string>& texts, CharVocabOptions options) {
  OURO_CHECK(options.min_count >= 1, "CharVocab: min_count must be >= 1, got ", options.min_count);
  OURO_CHECK(options.max_size >= 0 && options.max_size != 1, "CharVocab: max_size must be 0 (no limit) or >= 2, got ",
             options.max_size);
  std::map<char32_t, std::int64_t> counts;
  for (const std::string& text : texts) {
    std::size_t pos = 0, length = 1;
    while (pos < text.size()) {
      ++counts[utf8::decode_one(text, pos, &length)];
      pos += length;
    }
  }
  std::vector<std::pair<char32_t, std::int64_t>> order(counts.begin(), counts.end());
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  CharVocab vocab;
  for (const auto& [c, n] : order) {
    const bool room = options.max_size == 0 || vocab.size() < options.max_size;
    if (n >= options.min_count && room) {
      vocab.chars_.push_back(c);
      vocab.counts_.push_back(n);
    } else {
      vocab.counts_[0] += n;
    }
  }
  vocab.index();
  return vocab;
}

std::int64_t CharVocab::id(char32_t c) const {
  const auto it = ids_.find(c);
  return it == ids_.end() ? kUnknown : it->second;
}

char32_t CharVocab::code_point(std::int64_t id) const {
  OURO_CHECK(id >= 0 && id < size(), "CharVocab: id ", id, " is outside [0, ", size(), ")");
  return chars_[static_cast<std::size_t>(id)];
}

std::int64_t CharVocab::count(std::int64_t id) const {
  OURO_CHECK(id >= 0 && id < size(), "CharVocab: id ", id, " is outside [0, ", size(), ")");
  return counts_[static_cast<std::size_t>(id)];
}

std::vector<std::int64_t> CharVocab::encode(std::string_view text) const {
  std::vector<std::int64_t> out;
  out.reserve(text.size());
  std::size_t pos = 0, length = 1;
  while (pos < text.size()) {
    out.push_back(id(utf8::decode_one(text, pos, &length)));
    pos += length;
  }
  return out;
}

std::string CharVocab::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (std::int64_t i : ids) utf8::append(out, code_point(i));
  return out;
}

std::string CharVocab::decode_one(std::int64_t id) const { return utf8::encode(code_point(id)); }

std::string CharVocab::to_json() const {
  nlohmann::json j;
  j["type"] = "char";
  j["unknown"] = kUnknown;
  std::vector<std::uint32_t> points(chars_.begin(), chars_.end());
  j["code_points"] = points;
  j["counts"] = counts_;
  return j.dump();
}

CharVocab CharVocab::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("CharVocab::from_json: not valid JSON: ") + e.what());
  }
  OURO_CHECK(j.is_object(), "CharVocab::from_json: expected a JSON object");
  OURO_CHECK(j.contains("type") && j["type"] == "char", "CharVocab::from_json: key 'type' must be \"char\"");
  OURO_CHECK(j.contains("unknown") && j["unknown"] == kUnknown, "CharVocab::from_json: key 'unknown' must be ",
             kUnknown);
  OURO_CHECK(j.contains("code_points") && j["code_points"].is_array() && !j["code_points"].empty(),
             "CharVocab::from_json: key 'code_points' must be a non-empty array");
  OURO_CHECK(j.contains("counts") && j["counts"].is_array() && j["counts"].size() == j["code_points"].size(),
             "CharVocab::from_json: key 'counts' must be an array as long as 'code_points' (",
             j["code_points"].size(), ")");
  CharVocab vocab;
  vocab.chars_.clear();
  vocab.counts_.clear();
  for (std::size_t i = 0; i < j["code_points"].size(); ++i) {
    const auto& p = j["code_points"][i];
    const auto& n = j["counts"][i];
    // Surrogates (U+D800..U+DFFF) are not characters: UTF-8 cannot encode them, so decode()
    // would write invalid text for such an id.
    OURO_CHECK(p.is_number_unsigned() && p.get<std::uint64_t>() <= 0x10FFFF &&
                   (p.get<std::uint64_t>() < 0xD800 || p.get<std::uint64_t>() > 0xDFFF),
               "CharVocab::from_json: code_points[", i,
               "] must be a Unicode scalar value (0 to 0x10FFFF, surrogates excluded), got ", p.dump());
    OURO_CHECK(n.is_number_integer() && n.get<std::int64_t>() >= 0, "CharVocab::from_json: counts[", i,
               "] must be a count >= 0, got ", n.dump());
    vocab.chars_.push_back(static_cast<char32_t>(p.get<std::uint64_t>()));
    vocab.counts_.push_back(n.get<std::int64_t>());
  }
  vocab.index();
  OURO_CHECK(vocab.ids_.size() + 1 == vocab.chars_.size(), "CharVocab::from_json: 'code_points' repeats a character");
  return vocab;
}

}  // namespace ouro
