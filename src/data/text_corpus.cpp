#include "ouro/data/text_corpus.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "ouro/core/error.h"
#include "ouro/data/dataset.h"
#include "ouro/tensor/random.h"

namespace ouro {
namespace {

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_whole_file(const std::string& path, const std::string& package_hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string message = "text corpus: cannot open '" + path + "'";
    if (!package_hint.empty()) message += " (it comes with the Debian package " + package_hint +
                                          ": apt-get install " + package_hint + ", or run scripts/setup.sh)";
    throw Error(message);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  OURO_CHECK(!in.bad(), "text corpus: error while reading '", path, "'");
  return buffer.str();
}

// ESC '[' parameter/intermediate bytes, then one final byte in 0x40-0x7E (ECMA-48 CSI); any
// other ESC is dropped alone.
std::string strip_ansi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\x1b') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) ++j;
      i = j;  // the final byte (or the end) is skipped with the loop's ++i
    }
  }
  return out;
}

std::vector<std::string> split_fortunes(std::string_view text) {
  std::vector<std::string> entries;
  std::string current;
  std::size_t pos = 0;
  const auto flush = [&] {
    // An entry of blank lines only carries nothing to learn from.
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) entries.push_back(current);
    current.clear();
  };
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool has_newline = end != std::string::npos;
    if (!has_newline) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = has_newline ? end + 1 : end;
    if (line == "%" || line == "%\r") {
      flush();
    } else {
      current += line;
      current += '\n';
    }
  }
  flush();
  return entries;
}

std::string package_of(const std::string& file_name) {
  if (file_name == "fortunes") return "fortunes-min";
  if (file_name == "tang300" || file_name == "song100" || file_name == "chinese") return "fortunes-zh";
  return "fortunes";
}

}  // namespace

std::vector<std::string> read_fortune_file(const std::string& path, FortuneReadOptions options) {
  return parse_fortune_text(read_whole_file(path, ""), options);
}

std::vector<std::string> parse_fortune_text(std::string_view text, FortuneReadOptions options) {
  return options.strip_ansi_escapes ? split_fortunes(strip_ansi(text)) : split_fortunes(text);
}

const std::vector<std::string>& english_fortune_files() {
  static const std::vector<std::string> files = {
      "art",        "computers", "cookie",   "debian",      "definitions", "disclaimer",    "drugs",
      "education",  "ethnic",    "food",     "fortunes",    "goedel",      "humorists",     "kids",
      "knghtbrd",   "law",       "linux",    "linuxcookie", "literature",  "love",          "magic",
      "medicine",   "men-women", "miscellaneous", "news",   "paradoxum",   "people",        "perl",
      "pets",       "platitudes", "politics", "pratchett",  "riddles",     "science",       "songs-poems",
      "sports",     "startrek",  "tao",      "wisdom",      "work",        "zippy"};
  return files;
}

TextCorpus load_text_corpus(const std::string& name_or_path, const std::string& directory,
                            FortuneReadOptions options, const std::vector<std::string>& exclude) {
  OURO_CHECK(!name_or_path.empty(), "text corpus: empty name (expected fortunes, tang300, song100 or a file path)");
  TextCorpus corpus;
  corpus.name = name_or_path;
  std::vector<std::string> names;
  if (name_or_path == "fortunes") names = english_fortune_files();
  else if (name_or_path == "tang300" || name_or_path == "song100") names = {name_or_path};
  for (const std::string& excluded : exclude) {
    OURO_CHECK(names.size() > 1, "text corpus '", name_or_path, "': cannot exclude '", excluded,
               "': only the named corpus fortunes is made of several files");
    const auto it = std::find(names.begin(), names.end(), excluded);
    std::string listed;
    for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
    OURO_CHECK(it != names.end(), "text corpus '", name_or_path, "': cannot exclude '", excluded,
               "': it is not one of its files (", listed, ")");
    names.erase(it);
  }
  if (names.empty()) {
    OURO_CHECK(file_exists(name_or_path), "text corpus: '", name_or_path,
               "' is neither a corpus name (fortunes, tang300, song100) nor a readable file");
    corpus.files = {name_or_path};
  } else {
    for (const std::string& name : names) {
      const std::string path = directory + "/" + name;
      const std::string package = package_of(name);
      OURO_CHECK(file_exists(path), "text corpus '", name_or_path, "': missing file '", path,
                 "' (it comes with the Debian package ", package, ": apt-get install ", package,
                 ", or run scripts/setup.sh)");
      corpus.files.push_back(path);
    }
  }
  for (const std::string& path : corpus.files) {
    std::vector<std::string> entries = read_fortune_file(path, options);
    corpus.entries.insert(corpus.entries.end(), std::make_move_iterator(entries.begin()),
                          std::make_move_iterator(entries.end()));
  }
  OURO_CHECK(!corpus.entries.empty(), "text corpus '", name_or_path, "': no entries in ", corpus.files.size(),
             " file(s)");
  return corpus;
}

TextSplit split_entries(const std::vector<std::string>& entries, double validation_fraction, std::uint64_t seed) {
  OURO_CHECK(validation_fraction >= 0 && validation_fraction < 1, "split_entries: validation_fraction must lie in [0, 1), got ",
             validation_fraction);
  const auto n = static_cast<std::int64_t>(entries.size());
  std::int64_t held = std::llround(validation_fraction * static_cast<double>(n));
  if (validation_fraction > 0) {
    OURO_CHECK(n >= 2, "split_entries: need at least 2 entries to hold some out, got ", n);
    held = std::clamp<std::int64_t>(held, 1, n - 1);
  }
  Generator gen(seed);
  const std::vector<std::int64_t> order = random_permutation(n, gen);
  std::vector<char> is_validation(entries.size(), 0);
  for (std::int64_t i = 0; i < held; ++i) is_validation[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
  TextSplit split;
  for (std::size_t i = 0; i < entries.size(); ++i) (is_validation[i] ? split.validation : split.train).push_back(entries[i]);
  return split;
}

std::string join_entries(const std::vector<std::string>& entries) {
  std::size_t total = 0;
  for (const auto& e : entries) total += e.size() + 2;
  std::string out;
  out.reserve(total);
  for (const auto& e : entries) {
    out += e;
    if (!e.empty() && e.back() != '\n') out += '\n';
    out += "%\n";
  }
  return out;
}

}  // namespace ouro
