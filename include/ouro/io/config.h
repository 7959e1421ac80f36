// Training configuration: a TOML file (one section per concern: [model], [data], [optim],
// [schedule], [train]) read into typed structs, with every key checked against a schema —
// its type, its range or allowed values, and whether it applies to the chosen model type —
// and `--set key=value` overrides checked the same way. Errors name the file, the dotted key,
// the bad value and what is allowed; an unknown key gets a "did you mean" suggestion.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/core/error.h"

namespace ouro {

// A configuration that cannot be used as written: the user's input is wrong, not the run.
class ConfigError : public Error {
 public:
  using Error::Error;
};

struct ModelConfig {
  std::string type{};               // "char_lstm", "forecaster", "mlp" or "gpt" (required)
  std::int64_t embedding_dim = 64;  // char_lstm: size of each character's embedding
  std::int64_t hidden_size = 128;   // units per recurrent layer (mlp, forecaster "mlp" cell: per hidden layer)
  std::int64_t num_layers = 1;      // stacked recurrent layers (mlp: hidden layers)
  double dropout = 0;               // char_lstm, mlp: between layers, in training only
  std::string cell = "lstm";        // forecaster: "lstm", "gru" or "mlp" (over the flattened window)
  std::string activation = "tanh";  // mlp: hidden-layer activation
  std::int64_t rollout = 1;         // forecaster: steps predicted closed-loop per training sample
  // forecaster: how a rollout step's input is chosen in training (scheduled sampling):
  // "teacher_forcing", "free_running", "linear", "exponential", "inverse_sigmoid".
  std::string sampling = "teacher_forcing";
  double sampling_decay_steps = 1000;     // linear: batches until the teacher probability reaches its floor
  double sampling_base = 0.999;           // exponential: teacher probability base^batch
  double sampling_k = 100;                // inverse_sigmoid: k / (k + exp(batch / k))
  double min_teacher_probability = 0;     // the floor of the teacher probability
  std::string transform = "none";         // forecaster: "none" or "sqrt" (variance-stabilising, for counts)
  // forecaster: a linear path from the window to the output added to the step model's
  // (hybrid AR + network): "none", "random" or "least_squares" (starts at the AR(window) fit).
  std::string linear_skip = "none";
  // gpt: the decoder's shape (num_layers: blocks; dropout: on embeddings, attention, residuals).
  std::int64_t context = 128;  // tokens per training window, and the learned positions
  std::int64_t width = 128;    // d_model, a multiple of heads
  std::int64_t heads = 4;
  bool tied_head = true;       // the output head is the token embedding, transposed
};

struct DataConfig {
  // char_lstm: a corpus name ("fortunes", "tang300", "song100") or a text file in fortune
  // format; forecaster, mlp: a CSV file (required).
  std::string path{};
  std::int64_t seq_len = 64;          // char_lstm: characters per training window (the BPTT length)
  bool stateful = true;               // char_lstm: carry the LSTM state across batches (truncated BPTT over streams)
  std::int64_t min_count = 1;         // char_lstm: rarer characters map to the unknown id
  std::string column{};               // forecaster: the CSV column holding the series (empty: the last)
  std::string time_column{};          // forecaster: the CSV column of time stamps (empty: none)
  double train_until = 0;             // forecaster: with time_column, train on time <= this (0: validation_fraction)
  std::int64_t window = 16;           // forecaster: past values fed to the model per prediction
  bool header = true;                 // mlp, forecaster: the CSV starts with a header line
  double validation_fraction = 0.05;  // held out for validation (the last part for series)
  // gpt: how text becomes tokens: "byte", "char" or "bpe" (from encoder/merges, or learned
  // from the training split with vocab_size tokens).
  std::string tokenizer = "bpe";
  std::string encoder{};              // gpt, bpe: GPT-2-format encoder.json (with merges)
  std::string merges{};               // gpt, bpe: GPT-2-format vocab.bpe (with encoder)
  std::int64_t vocab_size = 4096;     // gpt, bpe without files: tokens to learn
  std::string exclude_files{};        // gpt, char_lstm: comma-separated corpus files left out of training
};

struct OptimConfig {
  std::string name = "adam";  // "sgd", "adam", "adamw", "rmsprop", "adagrad"
  double lr = 1e-3;
  double weight_decay = 0;
  double momentum = 0;  // sgd, rmsprop
  double beta1 = 0.9;   // adam, adamw
  double beta2 = 0.999;
  double eps = 1e-8;  // adam, adamw, rmsprop, adagrad
  double clip_grad_norm = 0;  // max global gradient 2-norm (0: no clipping)
};

struct ScheduleConfig {
  std::string type = "constant";  // "constant", "step", "exponential", "warmup_cosine"
  std::string unit = "step";      // the schedule advances once per "step" or per "epoch"
  std::int64_t warmup_steps = 0;  // warmup_cosine
  std::int64_t total_steps = 0;   // warmup_cosine: where the lr reaches min_lr (0: the run's length)
  double min_lr = 0;              // warmup_cosine
  std::int64_t step_size = 1;     // step
  double gamma = 0.1;             // step, exponential
};

struct TrainConfig {
  std::string run_dir{};  // created if missing (required)
  std::int64_t epochs = 1;
  std::int64_t max_steps = 0;  // stop after this many optimizer steps (0: run all epochs)
  std::int64_t batch_size = 32;
  std::int64_t gradient_accumulation_steps = 1;
  std::int64_t seed = 0;               // weights, shuffling, dropout
  std::int64_t log_every = 10;         // a metrics.jsonl record every this many steps
  std::int64_t checkpoint_every = 0;   // steps between checkpoints (0: at epoch ends only); one is always written at the end
  std::int64_t keep_checkpoints = 3;   // newest checkpoints kept in run_dir/checkpoints
  std::string progress = "auto";       // "auto", "bar", "lines", "silent"
  double max_seconds = 0;              // stop after the step that passes this wall time (0: no limit)
  std::int64_t eval_every = 0;         // gpt: steps between validations of the whole split (0: at the end only)
  std::string on_nan = "stop";         // a non-finite loss or gradient: "stop" the run (exit 1) or "skip" the step
  std::int64_t debug_inject_nan_step = -1;  // test hook: a NaN gradient at this step (-1: never)
};

// [finetune]: what `ouro finetune` starts from and trains. Lists are comma-separated globs.
struct FinetuneConfig {
  std::string init_from{};  // the base checkpoint (or run directory); `--from` overrides it
  std::string mode{};       // "full", "freeze" or "lora" (empty: not a fine-tuning config)
  std::string freeze{};     // freeze: parameter patterns frozen ("*" for all) ...
  std::string unfreeze{};   // ... then these made trainable again (e.g. "h.3.*,ln_f.*")
  std::int64_t lora_rank = 8;
  double lora_alpha = 16;
  double lora_dropout = 0;
  std::string lora_targets{};  // Linear module names or path globs, e.g. "c_attn,c_proj,c_fc"
};

struct Config {
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  ScheduleConfig schedule;
  TrainConfig train;
  FinetuneConfig finetune;
  // The keys that the parsed text or an override set ("section.key"), as opposed to defaults.
  // Not written by config_to_toml, which writes every key: a config read back from its
  // output has all of them here.
  std::set<std::string> given{};
};

// A comma-separated config list ("a, b,c") as its items, blanks trimmed, empty items dropped.
std::vector<std::string> split_config_list(const std::string& text);

// Parses TOML text. `source` names it in errors (a file path, or "--set" for overrides).
// `overrides` are "section.key=value" strings, applied after the text, each value parsed by
// the key's type (strings may be written bare or in double quotes). Throws ConfigError for a
// TOML syntax error (source:line:column), an unknown section or key (with the closest known
// name), a value of the wrong type or out of range, a key that does not apply to the model
// type, or a missing required key (model.type, data.path, train.run_dir).
Config parse_config(std::string_view toml_text, const std::string& source,
                    const std::vector<std::string>& overrides = {});

// Reads and parses a file (a missing or unreadable file is a ConfigError naming it).
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The resolved configuration as TOML: every key that applies to its model type, defaults
// included, so parse_config(config_to_toml(c), ...) gives c back exactly (floats are written
// with 17 significant digits).
std::string config_to_toml(const Config& config);

// The value of a key ("section.key") as the config's error messages show it (strings quoted).
std::string config_value(const Config& config, const std::string& dotted_key);

// Every key of the schema, "section.key", in schema order.
std::vector<std::string> config_keys();

// A reference of the schema for help texts: one line per key with its type, default,
// allowed values or range, the model types it applies to, and what it means.
std::string config_reference();

// The candidate closest to `name` by edit distance, if it is close enough to be a plausible
// typo (distance at most max(1, |name| / 3), or one is a prefix of the other); else "".
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace ouro
