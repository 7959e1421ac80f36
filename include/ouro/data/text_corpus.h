// Text corpora as lists of entries: the Debian `fortunes` format (entries separated by lines
// holding only "%"), the named corpora ouro trains on (English fortunes, Tang poems, Song ci),
// and a seeded, deterministic hold-out of whole entries for validation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ouro {

struct TextCorpus {
  std::vector<std::string> entries;  // UTF-8 text of each entry, ending in '\n'
  std::vector<std::string> files;    // the files read, in order
  std::string name;                  // what the corpus was asked for by (a name or a path)
};

struct FortuneReadOptions {
  // Drop ANSI terminal escapes (ESC '[' ... final byte): fortunes-zh colours its titles and
  // authors with them, and a language model should not spend capacity on them.
  bool strip_ansi_escapes = true;
};

// The entries of one file in fortune format: the text between lines that hold only "%" (a
// trailing '\r' is tolerated); empty entries are dropped; a file without any "%" line is one
// entry. A missing or unreadable file is an error naming the path.
std::vector<std::string> read_fortune_file(const std::string& path, FortuneReadOptions options = {});
// The same split of text already in memory.
std::vector<std::string> parse_fortune_text(std::string_view text, FortuneReadOptions options = {});

// Where Debian installs the fortune files.
inline constexpr const char* kFortuneDirectory = "/usr/share/games/fortunes";

// The files that make "the English fortunes corpus": every plain-text file of Debian's
// `fortunes` and `fortunes-min` packages except the two that are not English prose:
// `ascii-art` (drawings) and `translate-me` (Latin).
// Offensive fortunes (`fortunes-off`, under off/) are not part of it; `chinese`, `tang300` and
// `song100` come from fortunes-zh. The list is fixed here, so the corpus does not change when
// other fortune packages are installed.
const std::vector<std::string>& english_fortune_files();

// A corpus by name, or a file path:
//   "fortunes"  -> english_fortune_files() under `directory` (Debian package `fortunes`)
//   "tang300"   -> 300 Tang poems (package `fortunes-zh`), "song100" -> 100 Song ci (same)
//   anything else is read as one file in fortune format (a plain text file is one entry).
// A missing file is an error naming the path and the Debian package that provides it.
// `exclude` leaves files of a named corpus out by name (e.g. {"songs-poems"}, to hold a topic
// out of pretraining and fine-tune on it later); a name that is not one of the corpus's files
// is an error listing them, and so is excluding from a single file.
TextCorpus load_text_corpus(const std::string& name_or_path, const std::string& directory = kFortuneDirectory,
                            FortuneReadOptions options = {}, const std::vector<std::string>& exclude = {});

struct TextSplit {
  std::vector<std::string> train;
  std::vector<std::string> validation;
};

// Holds out round(validation_fraction * N) entries (at least 1 when the fraction is > 0)
// chosen by a seeded permutation; both parts keep the corpus order, so the split depends only
// on (entries, fraction, seed). Needs at least 2 entries when the fraction is > 0.
TextSplit split_entries(const std::vector<std::string>& entries, double validation_fraction, std::uint64_t seed);

// The entries as one training text, each followed by the line "%\n" as in the files, so that
// the model learns where an entry ends.
std::string join_entries(const std::vector<std::string>& entries);

}  // namespace ouro
