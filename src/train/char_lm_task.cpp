#include "ouro/train/char_lm_task.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/data/lm_dataset.h"
#include "ouro/io/safetensors.h"
#include "ouro/ops/loss.h"
#include "ouro/train/checkpoint.h"

namespace ouro {

CharLMData prepare_char_lm_data(const CharLMDataOptions& options) {
  const TextCorpus corpus = load_text_corpus(options.corpus, options.directory, {}, options.exclude);
  const TextSplit split = split_entries(corpus.entries, options.validation_fraction, options.split_seed);
  CharLMData data;
  data.options = options;
  data.train_entries = static_cast<std::int64_t>(split.train.size());
  data.validation_entries = static_cast<std::int64_t>(split.validation.size());
  const std::string train_text = join_entries(split.train);
  data.vocab = options.fixed_vocab ? *options.fixed_vocab : CharVocab::build(train_text, options.vocab);
  data.train_ids = data.vocab.encode(train_text);
  data.validation_ids = data.vocab.encode(join_entries(split.validation));
  data.train = options.stateful ? make_lm_streams(data.train_ids, options.batch_size, options.window)
                                : make_lm_windows(data.train_ids, options.window);
  if (!data.validation_ids.empty()) {
    const auto window = std::min<std::int64_t>(options.window, static_cast<std::int64_t>(data.validation_ids.size()) - 1);
    if (window >= 1) data.validation = make_lm_windows(data.validation_ids, window);
  }
  return data;
}

FitOptions char_lm_fit_options(const CharLMData& data, CharLM& model, bool validate) {
  FitOptions fit;
  fit.batch_size = data.options.batch_size;
  fit.shuffle = !data.options.stateful;
  fit.drop_last = true;  // a short last batch would break the streams (and starts cold anyway)
  if (validate && data.validation.inputs.defined()) fit.validation_data = data.validation;
  fit.generators["char_lm"] = &model.generator();
  if (data.options.stateful) fit.callbacks.push_back(std::make_shared<ResetStateEachEpoch>(model));
  return fit;
}

void ResetStateEachEpoch::on_epoch_begin(std::int64_t /*epoch*/) { model_.reset_state(); }

double bits_per_char(CharLM& model, const std::vector<std::int64_t>& ids, std::int64_t streams, std::int64_t window) {
  OURO_CHECK(streams >= 1 && window >= 1, "bits_per_char: streams and window must be >= 1, got ", streams, " and ",
             window);
  const auto n = static_cast<std::int64_t>(ids.size());
  OURO_CHECK(n >= 2, "bits_per_char: need at least 2 characters, got ", n);
  window = std::min(window, n - 1);
  streams = std::clamp<std::int64_t>((n - 1) / window, 1, streams);
  const Dataset pairs = make_lm_streams(ids, streams, window);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  double nats = 0;
  std::int64_t count = 0;
  RecurrentState state;
  try {
    for (std::int64_t row = 0; row < pairs.size(); row += streams) {
      std::vector<std::int64_t> rows(static_cast<std::size_t>(streams));
      for (std::int64_t b = 0; b < streams; ++b) rows[static_cast<std::size_t>(b)] = row + b;
      const Dataset batch = pairs.subset(rows);
      RecurrentOutput out = model.forward_with_state(batch.inputs, state);
      state = out.state;
      nats += cross_entropy(out.output, batch.targets, Reduction::Sum).item();
      count += batch.targets.numel();
    }
  } catch (...) {
    model.train(was_training);
    throw;
  }
  model.train(was_training);
  return nats / static_cast<double>(count) / std::log(2.0);
}

std::shared_ptr<CharLM> load_char_lm(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const auto it = header.metadata.find("model_config");
  OURO_CHECK(it != header.metadata.end(), "load_char_lm '", path, "': no \"model_config\" metadata entry");
  const nlohmann::json tree = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  OURO_CHECK(tree.is_object() && tree.contains("type") && tree["type"] == "CharLM" && tree.contains("config"),
             "load_char_lm '", path, "': the checkpoint holds a ",
             tree.is_object() && tree.contains("type") ? tree["type"].dump() : std::string("model of unknown type"),
             ", not a CharLM");
  auto model = CharLM::from_config_json(tree["config"].dump());
  load_checkpoint(path, *model, CheckpointTargets{.restore_default_generator = false});
  return model;
}

}  // namespace ouro
