// model.type = "char_lstm": a character-level LSTM language model (CharLM) over a text corpus
// in fortune format: the English fortunes, the Tang poems, or any file. The vocabulary is
// built from the training entries and travels in the checkpoint's model_config.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/data/lm_dataset.h"
#include "ouro/data/text_corpus.h"
#include "ouro/generation/generate.h"
#include "ouro/nn/char_lm.h"
#include "ouro/train/char_lm_task.h"
#include "ouro/train/token_lm_task.h"
#include "task.h"

namespace ouro::cli {
namespace {

CharLM& char_lm(const TaskModel& model) { return static_cast<CharLM&>(*model.model); }

CharLMOptions model_options(const Config& c) {
  CharLMOptions o;
  o.embedding_dim = c.model.embedding_dim;
  o.hidden_size = c.model.hidden_size;
  o.num_layers = c.model.num_layers;
  o.dropout = c.model.dropout;
  o.stateful = c.data.stateful;
  o.seed = static_cast<std::uint64_t>(c.train.seed);
  return o;
}

TaskModel wrap(const Config& config, std::shared_ptr<CharLM> model) {
  TaskModel out;
  out.model = model;
  out.loss = "sparse_categorical_crossentropy";
  out.metrics = {"accuracy"};
  out.tokens_per_sample = config.data.seq_len;
  // The model owns its generator (weights, dropout); the aliasing pointer keeps the model alive.
  out.generators["char_lm"] = std::shared_ptr<Generator>(model, &model->generator());
  return out;
}

CharLMDataOptions data_options(const Config& config) {
  CharLMDataOptions options;
  options.corpus = config.data.path;
  options.exclude = split_config_list(config.data.exclude_files);
  options.validation_fraction = config.data.validation_fraction;
  options.split_seed = static_cast<std::uint64_t>(config.train.seed);
  options.vocab.min_count = config.data.min_count;
  options.window = config.data.seq_len;
  options.batch_size = config.train.batch_size;
  options.stateful = config.data.stateful;
  return options;
}

// The data for `model` (new, or rebuilt from a base checkpoint) and the task around both.
TaskModel prepare_with(const Config& config, TaskData& data, std::shared_ptr<CharLMData> prepared,
                       std::shared_ptr<CharLM> model) {
  TaskModel out = wrap(config, model);
  // The feeding the data layout needs (stream order, full batches, the state reset).
  const FitOptions fit = char_lm_fit_options(*prepared, *model);
  out.shuffle = fit.shuffle;
  out.drop_last = fit.drop_last;
  out.callbacks = fit.callbacks;
  data.train = prepared->train;
  if (fit.validation_data) data.validation = *fit.validation_data;
  std::printf("corpus %s: %lld training entries (%zu characters), %lld validation entries; vocabulary %lld\n",
              config.data.path.c_str(), static_cast<long long>(prepared->train_entries), prepared->train_ids.size(),
              static_cast<long long>(prepared->validation_entries), static_cast<long long>(prepared->vocab.size()));
  if (prepared->validation_ids.size() >= 2)
    out.final_report = [config, model]() -> std::map<std::string, double> {
      const LmScore s = score_char_lm(*model, corpus_validation_text(config.data.path, config.data.validation_fraction,
                                                                     static_cast<std::uint64_t>(config.train.seed)));
      return {{"val_bits_per_char", s.bits_per_token()}, {"val_bits_per_byte", s.bits_per_byte()}};
    };
  return out;
}

TaskModel prepare_training(const Config& config, TaskData& data) {
  auto prepared = std::make_shared<CharLMData>(prepare_char_lm_data(data_options(config)));
  return prepare_with(config, data, prepared, std::make_shared<CharLM>(prepared->vocab, model_options(config)));
}

std::shared_ptr<CharLM> rebuild_char_lm(const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find("model_config");
  OURO_CHECK(it != metadata.end(), "checkpoint: no \"model_config\" metadata to rebuild the CharLM from");
  const nlohmann::json tree = nlohmann::json::parse(it->second);
  OURO_CHECK(tree.value("type", "") == "CharLM", "checkpoint: model_config holds a ", tree.value("type", "?"),
             ", not a CharLM");
  return CharLM::from_config_json(tree.at("config").dump());
}

TaskModel rebuild(const Config& config, const std::map<std::string, std::string>& metadata) {
  return wrap(config, rebuild_char_lm(metadata));
}

// The base model's architecture and vocabulary; the fine-tuning corpus is encoded with that
// vocabulary (characters it lacks become its unknown id). The [model] section of the config
// is not used: the architecture is the base's. Dropout and statefulness come from the config.
TaskModel prepare_finetuning(const Config& config, TaskData& data, const std::map<std::string, std::string>& base) {
  const std::shared_ptr<CharLM> built = rebuild_char_lm(base);
  CharLMOptions options = built->options();
  options.dropout = config.model.dropout;
  options.stateful = config.data.stateful;
  options.seed = static_cast<std::uint64_t>(config.train.seed);
  auto model = std::make_shared<CharLM>(built->vocab(), options);
  CharLMDataOptions data_opts = data_options(config);
  data_opts.fixed_vocab = built->vocab();
  auto prepared = std::make_shared<CharLMData>(prepare_char_lm_data(data_opts));
  return prepare_with(config, data, prepared, model);
}

// The whole corpus at `path`, encoded with the model's vocabulary.
std::vector<std::int64_t> corpus_ids(const TaskModel& model, const std::string& path) {
  const TextCorpus corpus = load_text_corpus(path);
  return char_lm(model).vocab().encode(join_entries(corpus.entries));
}

Dataset evaluation_data(const Config& config, const TaskModel& model, const std::string& path) {
  const std::vector<std::int64_t> ids = corpus_ids(model, path);
  OURO_CHECK(static_cast<std::int64_t>(ids.size()) > config.data.seq_len, "eval data '", path, "': ", ids.size(),
             " characters (entry separators included) are too few for one window of data.seq_len = ",
             config.data.seq_len, " plus its next character");
  return make_lm_windows(ids, config.data.seq_len);
}

// Bits per character and per UTF-8 byte of the text scored (the unit token models share).
std::map<std::string, double> text_report(TaskModel& model, const std::string& text) {
  const LmScore s = score_char_lm(char_lm(model), text);
  return {{"bits_per_char", s.bits_per_token()},
          {"bits_per_byte", s.bits_per_byte()},
          {"chars_scored", static_cast<double>(s.tokens)},
          {"bytes_scored", static_cast<double>(s.bytes)}};
}

std::map<std::string, double> extra_metrics(const Config&, TaskModel& model, const std::string& path) {
  return text_report(model, join_entries(load_text_corpus(path).entries));
}

std::map<std::string, double> validation_report(const Config& config, TaskModel& model) {
  return text_report(model, corpus_validation_text(config.data.path, config.data.validation_fraction,
                                                   static_cast<std::uint64_t>(config.train.seed)));
}

void generate(const Config&, const TaskModel& model, const GenerateRequest& request, std::FILE* out) {
  GenerateOptions options;
  options.max_tokens = request.max_tokens;
  options.sampling.temperature = request.temperature;
  options.sampling.top_k = request.top_k;
  options.sampling.top_p = request.top_p;
  options.seed = request.seed;
  std::fputs(request.prompt.c_str(), out);
  generate_text(char_lm(model), request.prompt, options, [out](const std::string& piece) {
    std::fputs(piece.c_str(), out);
    std::fflush(out);  // streamed: each character appears as soon as it is sampled
    return true;
  });
}

}  // namespace

const Task& char_lstm_task() {
  static const Task task{.prepare_training = prepare_training,
                         .rebuild = rebuild,
                         .evaluation_data = evaluation_data,
                         .extra_metrics = extra_metrics,
                         .validation_report = validation_report,
                         .generate = generate,
                         .prepare_finetuning = prepare_finetuning};
  return task;
}

}  // namespace ouro::cli
