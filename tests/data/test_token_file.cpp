// Binary token files: round trips at both id widths, and a clear error for every way a file
// can be wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../gradcheck.h"
#include "../temp_path.h"
#include "ouro/data/token_file.h"

namespace ouro::testing {
namespace {

std::string temp_path(const std::string& name) { return unique_temp_path(name).string(); }

TEST(TokenFile, RoundTripsBothWidths) {
  for (std::int64_t vocab : {std::int64_t{256}, std::int64_t{65536}, std::int64_t{100000}}) {
    std::vector<std::int64_t> ids;
    Generator gen(static_cast<std::uint64_t>(vocab));
    for (int i = 0; i < 1000; ++i) ids.push_back(gen.integer(vocab));
    ids.push_back(vocab - 1);
    const std::string path = temp_path("ouro_tokens.bin");
    write_token_file(path, ids, vocab);
    const TokenFile file(path);
    EXPECT_EQ(file.bytes_per_id(), vocab <= 65536 ? 2 : 4);
    EXPECT_EQ(file.vocab_size(), vocab);
    ASSERT_EQ(file.size(), static_cast<std::int64_t>(ids.size()));
    std::vector<std::int64_t> back(ids.size());
    file.read(0, file.size(), back.data());
    EXPECT_EQ(back, ids);
    EXPECT_EQ(std::filesystem::file_size(path), 32 + ids.size() * static_cast<std::size_t>(file.bytes_per_id()));
    std::filesystem::remove(path);
  }
}

TEST(TokenFile, ErrorsNameTheFileAndTheProblem) {
  const std::string path = temp_path("ouro_tokens_bad.bin");
  expect_error([&] { write_token_file(path, {1, 5}, 5); }, {"id 5", "position 1", "outside the vocabulary"});
  EXPECT_FALSE(std::filesystem::exists(path));
  expect_error([&] { TokenFile missing(temp_path("ouro_no_such_tokens.bin")); }, {"cannot open"});
  std::ofstream(path, std::ios::binary) << "short";
  expect_error([&] { TokenFile f(path); }, {path, "shorter than the 32-byte header"});
  std::ofstream(path, std::ios::binary) << std::string(40, 'x');
  expect_error([&] { TokenFile f(path); }, {"OUROTOK1"});
  write_token_file(path, {1, 2, 3}, 10);
  std::filesystem::resize_file(path, 32 + 4);  // one id cut off
  expect_error([&] { TokenFile f(path); }, {"promises 3 ids", "truncated"});
  write_token_file(path, {1, 2, 3}, 10);
  const TokenFile ok(path);
  expect_error([&] { ok.read(2, 2, nullptr); }, {"range [2, 4)"});
  expect_error([&] { (void)ok[-1]; }, {"position -1"});
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ouro::testing
