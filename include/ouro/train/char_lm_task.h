// The character-level language-model task end to end, as the `ouro` CLI and the examples use
// it: corpus -> split -> vocabulary -> LM datasets; the model's exact bits per character on a
// held-out stream; a callback for stateful training; rebuilding a trained CharLM from a
// checkpoint (its vocabulary travels in the "model_config" metadata).
//
// Typical use (see examples/char_lm.cpp):
//   CharLMData data = prepare_char_lm_data({.corpus = "fortunes", .window = 128, .batch_size = 32});
//   auto model = std::make_shared<CharLM>(data.vocab, CharLMOptions{.hidden_size = 512, .stateful = true});
//   Trainer trainer(model);
//   trainer.compile({.optimizer = ..., .loss = "sparse_categorical_crossentropy"});
//   FitOptions fit = char_lm_fit_options(data, *model);  // batch size, shuffle, callbacks, validation
//   fit.epochs = 10;  trainer.fit(data.train, fit);
//   double bpc = bits_per_char(*model, data.validation_ids);
//   trainer.save_checkpoint("run/last.safetensors");            // or a ModelCheckpoint callback
//   auto back = load_char_lm("run/last.safetensors");  generate_text(*back, "The ", {...}, print);
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ouro/data/char_vocab.h"
#include "ouro/data/dataset.h"
#include "ouro/data/text_corpus.h"
#include "ouro/nn/char_lm.h"
#include "ouro/train/callbacks.h"
#include "ouro/train/trainer.h"

namespace ouro {

struct CharLMDataOptions {
  std::string corpus = "fortunes";  // a load_text_corpus name (fortunes, tang300, song100) or a file path
  std::string directory = kFortuneDirectory;
  double validation_fraction = 0.05;  // of the entries, held out by a seeded permutation
  std::uint64_t split_seed = 0;
  // Files of a named corpus left out (load_text_corpus's exclude), e.g. {"songs-poems"}.
  std::vector<std::string> exclude{};
  CharVocabOptions vocab{};  // built from the training entries only
  // Fine-tuning: encode with this vocabulary (a trained model's) instead of building one;
  // characters it lacks map to its unknown id.
  std::optional<CharVocab> fixed_vocab{};
  std::int64_t window = 128;     // characters per training sequence (the BPTT length)
  std::int64_t batch_size = 32;  // sequences per batch (= parallel streams when stateful)
  // true: the training set is laid out by make_lm_streams for stateful truncated BPTT (train
  // it with shuffle off, batch_size as above and a CharLM with stateful = true; see
  // char_lm_fit_options); false: non-overlapping windows from make_lm_windows, to shuffle.
  bool stateful = true;
};

struct CharLMData {
  CharVocab vocab;
  std::vector<std::int64_t> train_ids, validation_ids;  // the joined entries, encoded
  Dataset train;       // int64 [N, window] inputs and next-character targets
  Dataset validation;  // the validation stream as windows (each scored from a zero state)
  std::int64_t train_entries = 0, validation_entries = 0;
  CharLMDataOptions options;
};

CharLMData prepare_char_lm_data(const CharLMDataOptions& options);

// FitOptions that match the data's layout: batch_size, shuffle (off for streams), drop_last,
// validation_data (the validation windows, each scored from a zero state, as "val_loss" in
// nats at every epoch end; left out when `validate` is false — bits_per_char is the exact
// figure), the model's generator for exact resume, and, for stateful data, a
// ResetStateEachEpoch callback. epochs, max_steps, clipping and further callbacks are the
// caller's to set.
FitOptions char_lm_fit_options(const CharLMData& data, CharLM& model, bool validate = true);

// Forgets the CharLM's carried state at every epoch start, so each epoch's streams start fresh.
class ResetStateEachEpoch : public Callback {
 public:
  explicit ResetStateEachEpoch(CharLM& model) : model_(model) {}
  void on_epoch_begin(std::int64_t epoch) override;

 private:
  CharLM& model_;
};

// The model's cross-entropy in bits per character over `ids` (predicting ids[1:] from the
// preceding text), read as `streams` contiguous streams whose state is carried from window
// to window, so almost every character is scored with its full left context (only the first
// of each stream starts cold). Eval mode, no graph; the mode is restored. The last
// (ids.size() - 1) mod (streams * window) characters are left out; streams is lowered if the
// text is too short for it.
double bits_per_char(CharLM& model, const std::vector<std::int64_t>& ids, std::int64_t streams = 16,
                     std::int64_t window = 256);

// A CharLM rebuilt from a checkpoint written by save_checkpoint / Trainer::save_checkpoint /
// ModelCheckpoint: the architecture and vocabulary from the "model_config" metadata, then the
// weights. An error names the file when it holds no CharLM.
std::shared_ptr<CharLM> load_char_lm(const std::string& checkpoint_path);

}  // namespace ouro
