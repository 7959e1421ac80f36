#include "ouro/train/token_lm_task.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/data/bpe_trainer.h"
#include "ouro/ops/loss.h"
#include "ouro/tensor/random.h"
#include "ouro/train/char_lm_task.h"
#include "ouro/train/run_directory.h"
#include "ouro/train/trainer.h"

namespace ouro {
namespace {

// The indices of the training and validation entries, exactly as split_entries splits them
// (it looks at nothing but the number of entries, the fraction and the seed).
void split_indices(std::size_t n, double fraction, std::uint64_t seed, std::vector<std::size_t>& train) {
  std::vector<std::string> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = std::to_string(i);
  const TextSplit split = split_entries(labels, fraction, seed);
  train.clear();
  for (const std::string& label : split.train) train.push_back(std::stoul(label));
}

std::string basename_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Restores a module's train/eval mode when a scope ends, exceptions included.
struct RestoreMode {
  Module& model;
  bool was_training;
  ~RestoreMode() { model.train(was_training); }
};

}  // namespace

std::string corpus_validation_text(const std::string& corpus, double validation_fraction, std::uint64_t seed,
                                   const std::string& directory) {
  const TextCorpus loaded = load_text_corpus(corpus, directory);
  return join_entries(split_entries(loaded.entries, validation_fraction, seed).validation);
}

TokenLMData prepare_token_lm_data(const TokenLMDataOptions& options) {
  OURO_CHECK(!options.token_file.empty(), "prepare_token_lm_data: token_file (where the training tokens go) is empty");
  const TextCorpus corpus = load_text_corpus(options.corpus, options.directory);
  const TextSplit split = split_entries(corpus.entries, options.validation_fraction, options.split_seed);
  TokenLMData data;
  data.validation_entries = static_cast<std::int64_t>(split.validation.size());

  std::vector<std::string> train_entries = split.train;
  if (!options.exclude_files.empty()) {
    // Which file each entry came from: load_text_corpus reads the files in order.
    std::vector<std::string> file_of;
    std::vector<std::string> names;
    for (const std::string& path : corpus.files) {
      names.push_back(basename_of(path));
      const std::size_t count = read_fortune_file(path).size();
      file_of.insert(file_of.end(), count, names.back());
    }
    OURO_CHECK(file_of.size() == corpus.entries.size(), "prepare_token_lm_data: the files of corpus '", options.corpus,
               "' changed while they were read");
    for (const std::string& excluded : options.exclude_files)
      OURO_CHECK(std::find(names.begin(), names.end(), excluded) != names.end(), "data.exclude_files: '", excluded,
                 "' is not a file of corpus '", options.corpus, "' (its files: ", [&] {
                   std::string all;
                   for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
                   return all;
                 }(), ")");
    std::vector<std::size_t> train_index;
    split_indices(corpus.entries.size(), options.validation_fraction, options.split_seed, train_index);
    train_entries.clear();
    for (const std::size_t i : train_index) {
      if (std::find(options.exclude_files.begin(), options.exclude_files.end(), file_of[i]) != options.exclude_files.end())
        ++data.excluded_entries;
      else
        train_entries.push_back(corpus.entries[i]);
    }
  }
  OURO_CHECK(!train_entries.empty(), "prepare_token_lm_data: no training entries left in corpus '", options.corpus, "'");
  data.train_entries = static_cast<std::int64_t>(train_entries.size());
  const std::string train_text = join_entries(train_entries);
  data.train_bytes = static_cast<std::int64_t>(train_text.size());

  if (options.fixed_tokenizer) {
    data.tokenizer = *options.fixed_tokenizer;
  } else if (options.tokenizer == "byte") {
    data.tokenizer = TextTokenizer::bytes();
  } else if (options.tokenizer == "char") {
    data.tokenizer = TextTokenizer::chars(CharVocab::build(train_text, CharVocabOptions{.min_count = options.char_min_count}));
  } else if (options.tokenizer == "bpe") {
    if (!options.encoder_path.empty() || !options.merges_path.empty()) {
      OURO_CHECK(!options.encoder_path.empty() && !options.merges_path.empty(),
                 "prepare_token_lm_data: a BPE tokenizer from files needs both encoder.json and vocab.bpe");
      data.tokenizer = TextTokenizer::bpe(BpeTokenizer::load(options.encoder_path, options.merges_path));
    } else {
      data.tokenizer = TextTokenizer::bpe(train_bpe(train_entries, BpeTrainOptions{.vocab_size = options.vocab_size}));
    }
  } else {
    throw Error("prepare_token_lm_data: unknown tokenizer \"" + options.tokenizer + "\" (expected byte, char or bpe)");
  }

  write_token_file(options.token_file, data.tokenizer.encode(train_text), data.tokenizer.vocab_size());
  data.train_tokens = std::make_shared<TokenFile>(options.token_file);
  data.validation_text = join_entries(split.validation);
  data.validation_ids = data.tokenizer.encode(data.validation_text);
  data.validation_token_bytes = data.tokenizer.token_bytes(data.validation_text, data.validation_ids);
  return data;
}

TokenWindows::TokenWindows(std::shared_ptr<const TokenFile> tokens, std::int64_t context, std::uint64_t seed)
    : tokens_(std::move(tokens)), context_(context), seed_(seed) {
  OURO_CHECK(tokens_ != nullptr, "TokenWindows: no token file");
  OURO_CHECK(context_ >= 1, "TokenWindows: context must be >= 1, got ", context_);
  const std::int64_t n = (tokens_->size() - 1) / context_;
  OURO_CHECK(n >= 1, "TokenWindows: '", tokens_->path(), "' holds ", tokens_->size(),
             " tokens, fewer than one window of context + 1 = ", context_ + 1);
  dataset_.inputs = Tensor::zeros({n, context_}, DType::Int64);
  dataset_.targets = Tensor::zeros({n, context_}, DType::Int64);
  fill(0);
}

void TokenWindows::fill(std::int64_t epoch) {
  if (epoch == epoch_) return;
  // A generator per epoch, seeded from (seed, epoch) alone, so any epoch can be drawn first.
  Generator gen(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch) + 1);
  const std::int64_t n = dataset_.inputs.shape()[0];
  const std::int64_t starts = tokens_->size() - context_;  // windows of context + 1 tokens
  std::int64_t* inputs = dataset_.inputs.data<std::int64_t>();
  std::int64_t* targets = dataset_.targets.data<std::int64_t>();
  std::vector<std::int64_t> window(static_cast<std::size_t>(context_ + 1));
  for (std::int64_t i = 0; i < n; ++i) {
    tokens_->read(gen.integer(starts), context_ + 1, window.data());
    std::copy(window.begin(), window.end() - 1, inputs + i * context_);
    std::copy(window.begin() + 1, window.end(), targets + i * context_);
  }
  epoch_ = epoch;
}

void RedrawWindowsEachEpoch::on_batch_begin(std::int64_t) { windows_->fill(trainer().epoch()); }

double LmScore::loss() const { return tokens > 0 ? nats / static_cast<double>(tokens) : 0.0; }
double LmScore::bits_per_token() const { return loss() / std::log(2.0); }
double LmScore::bits_per_byte() const {
  return bytes > 0 ? nats / static_cast<double>(bytes) / std::log(2.0) : 0.0;
}

LmScore score_token_lm(Module& model, const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& token_bytes,
                       std::int64_t context, std::int64_t stride, std::int64_t batch_size) {
  const auto n = static_cast<std::int64_t>(ids.size());
  OURO_CHECK(n >= 2, "score_token_lm: need at least 2 tokens, got ", n);
  OURO_CHECK(token_bytes.size() == ids.size(), "score_token_lm: ", token_bytes.size(), " byte counts for ", n, " ids");
  OURO_CHECK(context >= 1 && batch_size >= 1, "score_token_lm: context and batch_size must be >= 1");
  const std::int64_t length = std::min(context, n - 1);
  if (stride <= 0) stride = std::max<std::int64_t>(1, length / 2);
  OURO_CHECK(stride <= length, "score_token_lm: stride ", stride, " exceeds the window of ", length, " tokens");
  // Windows of `length` inputs ids[begin, begin + length) predicting ids[begin + 1 ..
  // begin + length]; `skip` leading targets were scored by an earlier window. The last window
  // is moved back to end at the last token, so every window has full length.
  struct Window {
    std::int64_t begin, skip;
  };
  std::vector<Window> windows;
  for (std::int64_t begin = 0, scored = 0; scored < n - 1; begin += stride) {
    begin = std::min(begin, n - 1 - length);
    windows.push_back({begin, scored - begin});
    scored = begin + length;
  }
  RestoreMode restore{model, model.is_training()};
  model.eval();
  NoGradGuard no_grad;
  LmScore score;
  for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(batch_size)) {
    const std::size_t count = std::min(windows.size() - first, static_cast<std::size_t>(batch_size));
    std::vector<std::int64_t> inputs(count * static_cast<std::size_t>(length)), targets(inputs.size());
    for (std::size_t b = 0; b < count; ++b) {
      const Window& w = windows[first + b];
      for (std::int64_t t = 0; t < length; ++t) {
        const std::size_t at = b * static_cast<std::size_t>(length) + static_cast<std::size_t>(t);
        const auto target = static_cast<std::size_t>(w.begin + t + 1);
        inputs[at] = ids[target - 1];
        if (t < w.skip) {
          targets[at] = -100;  // cross_entropy's ignore_index
          continue;
        }
        targets[at] = ids[target];
        score.bytes += token_bytes[target];
        ++score.tokens;
      }
    }
    const Shape shape{static_cast<std::int64_t>(count), length};
    const Tensor logits = model.forward(Tensor::from_indices(inputs, shape));
    score.nats += cross_entropy(logits, Tensor::from_indices(targets, shape), Reduction::Sum).item();
  }
  return score;
}

LmScore score_char_lm(CharLM& model, const std::string& text) {
  const std::vector<std::int64_t> ids = model.vocab().encode(text);
  const auto n = static_cast<std::int64_t>(ids.size());
  OURO_CHECK(n >= 2, "score_char_lm: need at least 2 characters, got ", n);
  // bits_per_char's defaults (16 streams, 256-character windows) and the targets it scores:
  // ids[1 .. scored], the rest of (n - 1) mod (streams * window) left out.
  const std::int64_t streams_max = 16, window_max = 256;
  const std::int64_t window = std::min(window_max, n - 1);
  const std::int64_t streams = std::clamp<std::int64_t>((n - 1) / window, 1, streams_max);
  const std::int64_t scored = (n - 1) - (n - 1) % (streams * window);
  const double bpc = bits_per_char(model, ids, streams_max, window_max);
  const std::vector<std::int64_t> bytes = TextTokenizer::chars(model.vocab()).token_bytes(text, ids);
  LmScore score;
  score.tokens = scored;
  score.nats = bpc * std::log(2.0) * static_cast<double>(scored);
  for (std::int64_t i = 1; i <= scored; ++i) score.bytes += bytes[static_cast<std::size_t>(i)];
  return score;
}

TokenLMValidation::TokenLMValidation(Module& model, std::shared_ptr<const TokenLMData> data, std::int64_t context,
                                     std::int64_t every_n_steps, std::string metrics_path)
    : model_(model), data_(std::move(data)), context_(context), every_(every_n_steps),
      metrics_path_(std::move(metrics_path)) {
  OURO_CHECK(data_ != nullptr && data_->validation_ids.size() >= 2,
             "TokenLMValidation: the validation split holds fewer than 2 tokens");
}

void TokenLMValidation::on_batch_end(std::int64_t, const Logs&) {
  if (every_ > 0 && trainer().global_step() % every_ == 0) validate();
}

void TokenLMValidation::on_train_end(const Logs&) {
  // A finished run resumed with nothing left to train ends at the step it validated before:
  // scoring it again would only write the same record twice.
  if (last_step_ != trainer().global_step() &&
      (metrics_path_.empty() || !metrics_has_record(metrics_path_, "validation", trainer().global_step())))
    validate();
}

void TokenLMValidation::validate() {
  last_ = score_token_lm(model_, data_->validation_ids, data_->validation_token_bytes, context_);
  last_step_ = trainer().global_step();
  std::printf("step %lld: validation %.4f bits/byte, %.4f bits/token (loss %.4f over %lld tokens)\n",
              static_cast<long long>(last_step_), last_.bits_per_byte(), last_.bits_per_token(), last_.loss(),
              static_cast<long long>(last_.tokens));
  std::fflush(stdout);
  if (metrics_path_.empty()) return;
  nlohmann::json record{{"kind", "validation"},
                        {"epoch", trainer().epoch()},
                        {"step", last_step_},
                        {"val_loss", last_.loss()},
                        {"val_bits_per_token", last_.bits_per_token()},
                        {"val_bits_per_byte", last_.bits_per_byte()},
                        {"val_tokens", last_.tokens},
                        {"val_bytes", last_.bytes}};
  append_metrics_record(metrics_path_, record.dump(), "TokenLMValidation");
}

}  // namespace ouro
