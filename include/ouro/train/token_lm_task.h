// The token language-model task end to end, for any model that maps int64 tokens [B, T] to
// logits [B, T, V] (the GPT decoder): corpus -> the same seeded entry split as char_lm_task
// (so both models are scored on the same validation text) -> a tokenizer (bytes, characters,
// BPE from files or learned from the training split) -> the training tokens written once to a
// token file and memory-mapped -> random windows redrawn every epoch; and scoring in bits per
// UTF-8 byte of the text, the unit in which token and character models compare.
//
// Typical use (tools/ouro/task_gpt.cpp):
//   auto data = std::make_shared<TokenLMData>(prepare_token_lm_data({.corpus = "fortunes",
//       .tokenizer = "bpe", .vocab_size = 2048, .token_file = "run/train.tokens"}));
//   auto windows = std::make_shared<TokenWindows>(data->train_tokens, /*context=*/128, /*seed=*/0);
//   fit.callbacks.push_back(std::make_shared<RedrawWindowsEachEpoch>(windows));
//   fit.shuffle = false;  trainer.fit(windows->dataset(), fit);
//   LmScore s = score_token_lm(model, data->validation_ids, data->validation_token_bytes, 128);
//   s.bits_per_byte();
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ouro/data/dataset.h"
#include "ouro/data/text_corpus.h"
#include "ouro/data/text_tokenizer.h"
#include "ouro/data/token_file.h"
#include "ouro/nn/char_lm.h"
#include "ouro/nn/module.h"
#include "ouro/train/callbacks.h"

namespace ouro {

struct TokenLMDataOptions {
  std::string corpus = "fortunes";  // a load_text_corpus name or a fortune-format file path
  std::string directory = kFortuneDirectory;
  double validation_fraction = 0.05;  // of the entries, held out exactly as char_lm_task does
  std::uint64_t split_seed = 0;
  // Corpus files (by file name, e.g. "songs-poems") whose entries are left out of the training
  // split, e.g. a topic kept for fine-tuning. The validation split is not changed, so it stays
  // the text every other model of the corpus is scored on.
  std::vector<std::string> exclude_files{};
  std::string tokenizer = "bpe";  // "byte", "char" or "bpe"
  // bpe: GPT-2-format files to read (both), or else a vocabulary of vocab_size learned from
  // the training split (train_bpe, with <|endoftext|>).
  std::string encoder_path{}, merges_path{};
  std::int64_t vocab_size = 4096;
  std::int64_t char_min_count = 1;  // char: rarer characters map to the unknown id
  std::string token_file{};         // where the training tokens are written (required)
  // Fine-tuning: encode with this tokenizer (a base model's) instead of building one; the
  // tokenizer fields above are then not used.
  std::optional<TextTokenizer> fixed_tokenizer{};
};

struct TokenLMData {
  TextTokenizer tokenizer;
  std::shared_ptr<TokenFile> train_tokens;  // memory-mapped
  std::string validation_text;              // join_entries of the validation entries
  std::vector<std::int64_t> validation_ids;
  std::vector<std::int64_t> validation_token_bytes;  // bytes of validation_text per id
  std::int64_t train_entries = 0, validation_entries = 0, excluded_entries = 0;
  std::int64_t train_bytes = 0;
};

TokenLMData prepare_token_lm_data(const TokenLMDataOptions& options);

// The validation text of a corpus split: join_entries of the entries split_entries holds out,
// as char_lm_task and prepare_token_lm_data take it.
std::string corpus_validation_text(const std::string& corpus, double validation_fraction, std::uint64_t seed,
                                   const std::string& directory = kFortuneDirectory);

// Training samples from a token file: N = (tokens - 1) / context windows, inputs int64
// [N, context] and next-token targets [N, context], each window at a uniformly random offset.
// The offsets of epoch e depend only on (seed, e), so a resumed run sees the same windows.
class TokenWindows {
 public:
  TokenWindows(std::shared_ptr<const TokenFile> tokens, std::int64_t context, std::uint64_t seed);
  // Shares its storage with every copy: fill() changes what a DataLoader over it reads.
  const Dataset& dataset() const { return dataset_; }
  std::int64_t epoch() const { return epoch_; }
  // Redraws the windows for `epoch` in place.
  void fill(std::int64_t epoch);

 private:
  std::shared_ptr<const TokenFile> tokens_;
  std::int64_t context_;
  std::uint64_t seed_;
  std::int64_t epoch_ = -1;
  Dataset dataset_;
};

// Before each step, redraws the windows when the trainer has moved to another epoch (also on
// resuming in the middle of one). Train with shuffle off: the windows are random already.
class RedrawWindowsEachEpoch : public Callback {
 public:
  explicit RedrawWindowsEachEpoch(std::shared_ptr<TokenWindows> windows) : windows_(std::move(windows)) {}
  void on_batch_begin(std::int64_t step) override;

 private:
  std::shared_ptr<TokenWindows> windows_;
};

// Cross-entropy summed over the tokens scored, and the bytes of text they stand for.
struct LmScore {
  double nats = 0;
  std::int64_t tokens = 0, bytes = 0;
  double loss() const;            // nats per token
  double bits_per_token() const;
  double bits_per_byte() const;   // nats / bytes / ln 2
};

// Every token of ids after the first, predicted by `model` (int64 [B, T] -> logits [B, T, V])
// from the tokens before it: windows of `context` tokens every `stride` (0: context / 2), each
// scoring only the targets no earlier window scored, so past the first window every target
// sees at least context - stride tokens of context. token_bytes[i] are the bytes of ids[i].
// Eval mode, no graph; the mode is restored.
LmScore score_token_lm(Module& model, const std::vector<std::int64_t>& ids,
                       const std::vector<std::int64_t>& token_bytes, std::int64_t context, std::int64_t stride = 0,
                       std::int64_t batch_size = 8);

// A character LM on `text`, in the same unit: bits_per_char over vocab.encode(text) (16
// streams of 256-character windows carrying their state), with the bytes of exactly the
// characters it scores.
LmScore score_char_lm(CharLM& model, const std::string& text);

// Scores the model on the validation tokens every `every_n_steps` optimizer steps (0: only at
// the end) and when training ends; prints a line and appends a record {"kind": "validation",
// "step", "epoch", "val_loss" (nats/token), "val_bits_per_token", "val_bits_per_byte",
// "val_tokens", "val_bytes"} to `metrics_path` (one write on an O_APPEND file, like
// MetricsLogger). Draws no random numbers, so resumed runs stay exact.
class TokenLMValidation : public Callback {
 public:
  TokenLMValidation(Module& model, std::shared_ptr<const TokenLMData> data, std::int64_t context,
                    std::int64_t every_n_steps, std::string metrics_path);
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;
  // The latest score (tokens == 0 before the first).
  const LmScore& last() const { return last_; }

 private:
  void validate();
  Module& model_;
  std::shared_ptr<const TokenLMData> data_;
  std::int64_t context_, every_;
  std::string metrics_path_;
  std::int64_t last_step_ = -1;
  LmScore last_;
};

}  // namespace ouro
