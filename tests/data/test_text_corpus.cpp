// Text corpora: the fortune format, ANSI escapes, the named corpora and the seeded split.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "ouro/core/error.h"
#include "ouro/data/text_corpus.h"
#include "ouro/data/utf8.h"

namespace ouro::testing {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(TextCorpus, SplitsOnPercentLines) {
  const auto path = write_temp("f.txt", "one\nline two\n%\n\n%\r\n100% sure\n%\nlast");
  const auto entries = read_fortune_file(path);
  EXPECT_EQ(entries, (std::vector<std::string>{"one\nline two\n", "100% sure\n", "last\n"}));
  EXPECT_EQ(join_entries({"a\n", "b"}), "a\n%\nb\n%\n");
}

TEST(TextCorpus, ParsesTextInMemoryLikeAFile) {
  const std::string text = "\x1b[1mone\x1b[0m\n%\r\ntwo\n%\n";
  const auto path = write_temp("memory.txt", text);
  EXPECT_EQ(parse_fortune_text(text), read_fortune_file(path));
  EXPECT_EQ(parse_fortune_text(text), (std::vector<std::string>{"one\n", "two\n"}));
  EXPECT_EQ(parse_fortune_text(text, {.strip_ansi_escapes = false})[0], "\x1b[1mone\x1b[0m\n");
  EXPECT_TRUE(parse_fortune_text("").empty());
}

TEST(TextCorpus, StripsAnsiEscapes) {
  const auto path = write_temp("zh.txt", "\x1b[32m《静夜思》\x1b[m\n床前明月光\n");
  EXPECT_EQ(read_fortune_file(path)[0], "《静夜思》\n床前明月光\n");
  EXPECT_EQ(read_fortune_file(path, FortuneReadOptions{.strip_ansi_escapes = false})[0].substr(0, 5), "\x1b[32m");
}

TEST(TextCorpus, MissingFilesNameThePathAndPackage) {
  try {
    load_text_corpus("tang300", "/nonexistent/dir");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent/dir/tang300"), std::string::npos) << m;
    EXPECT_NE(m.find("fortunes-zh"), std::string::npos) << m;
  }
  EXPECT_THROW(load_text_corpus("/no/such/file.txt"), Error);
  EXPECT_THROW(read_fortune_file("/no/such/file.txt"), Error);
}

TEST(TextCorpus, SplitIsSeededDeterministicAndByEntries) {
  std::vector<std::string> entries;
  for (int i = 0; i < 100; ++i) entries.push_back("entry " + std::to_string(i) + "\n");
  const TextSplit a = split_entries(entries, 0.05, 7);
  const TextSplit b = split_entries(entries, 0.05, 7);
  const TextSplit c = split_entries(entries, 0.05, 8);
  EXPECT_EQ(a.validation.size(), 5u);
  EXPECT_EQ(a.train.size(), 95u);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_NE(a.validation, c.validation);
  std::set<std::string> all(a.train.begin(), a.train.end());
  for (const auto& v : a.validation) EXPECT_TRUE(all.insert(v).second) << "entry in both parts: " << v;
  EXPECT_EQ(all.size(), 100u);
  EXPECT_THROW(split_entries({"only one\n"}, 0.05, 0), Error);
  EXPECT_THROW(split_entries(entries, 1.0, 0), Error);
}

// The installed Debian corpora (scripts/setup.sh installs fortunes and fortunes-zh).
TEST(TextCorpus, ReadsTheInstalledCorpora) {
  const TextCorpus english = load_text_corpus("fortunes");
  EXPECT_EQ(english.files.size(), english_fortune_files().size());
  EXPECT_GT(english.entries.size(), 5000u);
  const TextCorpus tang = load_text_corpus("tang300");
  EXPECT_GT(tang.entries.size(), 250u);
  for (const auto& e : tang.entries) {
    EXPECT_TRUE(utf8::is_valid(e));
    EXPECT_EQ(e.find('\x1b'), std::string::npos);
  }
}

}  // namespace
}  // namespace ouro::testing
