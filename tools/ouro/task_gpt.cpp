// model.type = "gpt": a GPT-2-style decoder (nn/gpt.h) pretrained on a text corpus in fortune
// format. The corpus is split into entries exactly as for char_lstm (so both are scored on one
// validation text), tokenized once into RUN_DIR/train.tokens (memory-mapped), and fed as
// random windows of model.context + 1 tokens; the validation split is scored in bits per byte
// every train.eval_every steps. The tokenizer travels in the checkpoint's metadata.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/data/lm_dataset.h"
#include "ouro/data/text_corpus.h"
#include "ouro/data/text_tokenizer.h"
#include "ouro/generation/generate_gpt.h"
#include "ouro/nn/gpt.h"
#include "ouro/train/run_directory.h"
#include "ouro/train/token_lm_task.h"
#include "task.h"

namespace ouro::cli {
namespace {

Gpt& gpt(const TaskModel& model) { return static_cast<Gpt&>(*model.model); }

GptConfig gpt_config(const Config& c, std::int64_t vocab_size) {
  GptConfig g;
  g.vocab_size = vocab_size;
  g.context = c.model.context;
  g.width = c.model.width;
  g.layers = c.model.num_layers;
  g.heads = c.model.heads;
  g.dropout_embd = g.dropout_attn = g.dropout_resid = c.model.dropout;
  g.tied_head = c.model.tied_head;
  g.seed = static_cast<std::uint64_t>(c.train.seed);
  if (g.width % g.heads != 0)
    throw ConfigError("model.width = " + std::to_string(g.width) + " is not a multiple of model.heads = " +
                      std::to_string(g.heads));
  return g;
}

TaskModel wrap(std::shared_ptr<Gpt> model, const TextTokenizer& tokenizer) {
  TaskModel out;
  out.model = model;
  out.loss = "sparse_categorical_crossentropy";
  out.tokens_per_sample = model->config().context;
  out.decay_matrices_only = true;
  out.shuffle = false;  // the windows are drawn at random offsets already
  out.generators["gpt"] = std::shared_ptr<Generator>(model, &model->generator());
  out.metadata["tokenizer"] = tokenizer.to_json();
  return out;
}

TextTokenizer tokenizer_of(const TaskModel& model) { return TextTokenizer::from_json(model.metadata.at("tokenizer")); }

TokenLMDataOptions data_options(const Config& config) {
  TokenLMDataOptions options;
  options.corpus = config.data.path;
  options.validation_fraction = config.data.validation_fraction;
  options.split_seed = static_cast<std::uint64_t>(config.train.seed);
  options.exclude_files = split_config_list(config.data.exclude_files);
  options.tokenizer = config.data.tokenizer;
  options.encoder_path = config.data.encoder;
  options.merges_path = config.data.merges;
  options.vocab_size = config.data.vocab_size;
  options.char_min_count = config.data.min_count;
  options.token_file = RunDirectory(config.train.run_dir).path() + "/train.tokens";
  return options;
}

// The training windows, the periodic validation and the final report of `model` on the
// prepared data; prints what was read.
TaskModel attach_data(const Config& config, TaskData& data, const TokenLMDataOptions& options,
                      std::shared_ptr<TokenLMData> prepared, std::shared_ptr<Gpt> model) {
  const RunDirectory run(config.train.run_dir);
  const std::int64_t context = model->config().context;
  TaskModel out = wrap(model, prepared->tokenizer);
  auto windows = std::make_shared<TokenWindows>(prepared->train_tokens, context,
                                                static_cast<std::uint64_t>(config.train.seed));
  out.callbacks.push_back(std::make_shared<RedrawWindowsEachEpoch>(windows));
  data.train = windows->dataset();
  if (prepared->validation_ids.size() >= 2) {
    auto validation = std::make_shared<TokenLMValidation>(*model, prepared, context, config.train.eval_every,
                                                          run.metrics_path());
    out.callbacks.push_back(validation);
    out.final_report = [validation]() -> std::map<std::string, double> {
      const LmScore& s = validation->last();
      return {{"val_bits_per_byte", s.bits_per_byte()}, {"val_bits_per_token", s.bits_per_token()}};
    };
  }
  const double tokens = static_cast<double>(prepared->train_tokens->size());
  std::printf("corpus %s: %lld training entries (%lld bytes)%s, %lld validation entries (%zu bytes)\n",
              config.data.path.c_str(), static_cast<long long>(prepared->train_entries),
              static_cast<long long>(prepared->train_bytes),
              prepared->excluded_entries > 0
                  ? (" without " + std::to_string(prepared->excluded_entries) + " entries of " + config.data.exclude_files)
                        .c_str()
                  : "",
              static_cast<long long>(prepared->validation_entries), prepared->validation_text.size());
  std::printf("tokenizer %s: vocabulary %lld, %.0f training tokens (%.2f bytes/token) in %s; %zu validation tokens\n",
              prepared->tokenizer.kind_name(), static_cast<long long>(prepared->tokenizer.vocab_size()), tokens,
              static_cast<double>(prepared->train_bytes) / tokens, options.token_file.c_str(),
              prepared->validation_ids.size());
  std::printf("%s; %lld windows of %lld tokens per epoch\n", model->describe().c_str(),
              static_cast<long long>(data.train.size()), static_cast<long long>(context));
  return out;
}

TaskModel prepare_training(const Config& config, TaskData& data) {
  if (config.data.encoder.empty() != config.data.merges.empty())
    throw ConfigError("data.encoder and data.merges go together (the two files of one BPE tokenizer)");
  if (!config.data.encoder.empty() && config.data.tokenizer != "bpe")
    throw ConfigError("data.encoder and data.merges need data.tokenizer = \"bpe\", not \"" + config.data.tokenizer + "\"");
  const TokenLMDataOptions options = data_options(config);
  auto prepared = std::make_shared<TokenLMData>(prepare_token_lm_data(options));
  auto model = std::make_shared<Gpt>(gpt_config(config, prepared->tokenizer.vocab_size()));
  return attach_data(config, data, options, prepared, model);
}

TaskModel rebuild(const Config&, const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find("model_config");
  OURO_CHECK(it != metadata.end(), "checkpoint: no \"model_config\" metadata to rebuild the Gpt from");
  const nlohmann::json tree = nlohmann::json::parse(it->second);
  OURO_CHECK(tree.value("type", "") == "Gpt", "checkpoint: model_config holds a ", tree.value("type", "?"),
             ", not a Gpt");
  const auto tokenizer = metadata.find("tokenizer");
  OURO_CHECK(tokenizer != metadata.end(), "checkpoint: no \"tokenizer\" metadata (the gpt task writes one)");
  auto model = Gpt::from_config_json(tree.at("config").dump());
  TextTokenizer text_tokenizer = TextTokenizer::from_json(tokenizer->second);
  // Ids the tokenizer makes must be ids the model embeds, and back: a mismatch (a hand-edited
  // or foreign checkpoint) would fail only in the middle of generating or scoring.
  OURO_CHECK(text_tokenizer.vocab_size() == model->config().vocab_size, "checkpoint: the tokenizer has ",
             text_tokenizer.vocab_size(), " ids but the model's vocabulary has ", model->config().vocab_size);
  return wrap(std::move(model), text_tokenizer);
}

// The base model's architecture and tokenizer: the fine-tuning corpus (config.data.path, split
// and exclude_files as in training) is encoded with the base's tokenizer. The [model] section
// of the config is not used except for dropout; the weights' seed (for dropout masks) is
// train.seed.
TaskModel prepare_finetuning(const Config& config, TaskData& data, const std::map<std::string, std::string>& base) {
  if (!config.data.encoder.empty() || !config.data.merges.empty())
    throw ConfigError("data.encoder / data.merges: a fine-tuning run uses its base checkpoint's tokenizer; remove them");
  const TaskModel built = rebuild(config, base);
  GptConfig g = gpt(built).config();
  g.dropout_embd = g.dropout_attn = g.dropout_resid = config.model.dropout;
  g.seed = static_cast<std::uint64_t>(config.train.seed);
  auto model = std::make_shared<Gpt>(g);
  TokenLMDataOptions options = data_options(config);
  options.fixed_tokenizer = tokenizer_of(built);
  auto prepared = std::make_shared<TokenLMData>(prepare_token_lm_data(options));
  return attach_data(config, data, options, prepared, model);
}

// The text of a corpus (name or fortune-format file), entries joined as in training.
std::string corpus_text(const std::string& path) { return join_entries(load_text_corpus(path).entries); }

Dataset evaluation_data(const Config&, const TaskModel& model, const std::string& path) {
  const std::vector<std::int64_t> ids = tokenizer_of(model).encode(corpus_text(path));
  OURO_CHECK(ids.size() >= 2, "ouro eval: '", path, "' holds fewer than 2 tokens");
  return make_lm_windows(ids, std::min<std::int64_t>(gpt(model).config().context, static_cast<std::int64_t>(ids.size()) - 1));
}

std::map<std::string, double> score_text(const TaskModel& model, const std::string& text) {
  const TextTokenizer tokenizer = tokenizer_of(model);
  const std::vector<std::int64_t> ids = tokenizer.encode(text);
  OURO_CHECK(ids.size() >= 2, "ouro eval: the text holds fewer than 2 tokens");
  const LmScore s = score_token_lm(gpt(model), ids, tokenizer.token_bytes(text, ids), gpt(model).config().context);
  return {{"bits_per_byte", s.bits_per_byte()},
          {"bits_per_token", s.bits_per_token()},
          {"tokens_scored", static_cast<double>(s.tokens)},
          {"bytes_scored", static_cast<double>(s.bytes)}};
}

std::map<std::string, double> extra_metrics(const Config&, TaskModel& model, const std::string& path) {
  return score_text(model, corpus_text(path));
}

std::map<std::string, double> validation_report(const Config& config, TaskModel& model) {
  return score_text(model, corpus_validation_text(config.data.path, config.data.validation_fraction,
                                                  static_cast<std::uint64_t>(config.train.seed)));
}

void generate(const Config&, const TaskModel& model, const GenerateRequest& request, std::FILE* out) {
  const TextTokenizer tokenizer = tokenizer_of(model);
  // Without a prompt the model starts where every training entry starts: after the entry
  // separator "%\n" (not printed).
  std::vector<std::int64_t> prompt = tokenizer.encode(request.prompt.empty() ? std::string("%\n") : request.prompt);
  OURO_CHECK(!prompt.empty(), "ouro generate: the prompt gives no tokens");
  const std::int64_t context = gpt(model).config().context;
  if (static_cast<std::int64_t>(prompt.size()) > context)  // the model sees its last `context` tokens
    prompt.erase(prompt.begin(), prompt.end() - context);
  GptGenerateOptions options;
  options.max_new_tokens = request.max_tokens;
  options.sampling.temperature = request.temperature;
  options.sampling.top_k = request.top_k;
  options.sampling.top_p = request.top_p;
  options.repetition_penalty = request.repetition_penalty;
  options.stop = request.stop;
  options.seed = request.seed;
  std::fputs(request.prompt.c_str(), out);
  std::fflush(out);
  generate_gpt(gpt(model), prompt, options, [&](const std::vector<std::int64_t>& ids) { return tokenizer.decode(ids); },
               [out](std::int64_t, std::string_view text) {
                 std::fwrite(text.data(), 1, text.size(), out);
                 std::fflush(out);  // streamed: each piece appears as soon as it is final
                 return true;
               });
}

}  // namespace

const Task& gpt_task() {
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
