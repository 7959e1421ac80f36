// The configuration schema (one entry per key: type, range or allowed values, model types it
// applies to, where it lives in Config) and the TOML reading, override and writing built on it.
#include "ouro/io/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "ouro/data/utf8.h"

namespace ouro {
namespace {

using Value = std::variant<std::int64_t, double, bool, std::string>;
enum class Kind { Int, Float, Bool, String };

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxInt = 1e15;  // beyond any sensible count, and exact in a double

struct KeySpec {
  std::string section, key;
  Kind kind;
  // Numbers: the allowed interval; lower_open / upper_open exclude the end point.
  double lower = -kInf, upper = kInf;
  bool lower_open = false, upper_open = false;
  std::vector<std::string> allowed{};      // strings: the allowed values (empty: any)
  std::vector<std::string> model_types{};  // empty: every model type
  bool required = false;
  std::string help{};
  std::function<void(Config&, const Value&)> set;
  std::function<Value(const Config&)> get;

  std::string dotted() const { return section + "." + key; }
};

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Int: return "an integer";
    case Kind::Float: return "a number";
    case Kind::Bool: return "a boolean (true or false)";
    case Kind::String: return "a string";
  }
  return "";
}

std::string format_number(double v) {
  if (v == kInf) return "inf";
  if (v == -kInf) return "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  // The shortest of %.17g and %g that reads back the same, so 0.001 prints as 0.001.
  char shorter[64];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(shorter, sizeof shorter, "%.*g", digits, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buffer;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string describe_value(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return quote(x);
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) return format_number(x);
        else return std::to_string(x);
      },
      v);
}

// "an integer >= 1", "a number in (0, 1)", "one of \"sgd\", \"adam\"".
std::string describe_allowed(const KeySpec& s) {
  if (s.kind == Kind::String) {
    if (s.allowed.empty()) return "a string";
    std::string out = "one of ";
    for (std::size_t i = 0; i < s.allowed.size(); ++i) out += (i ? ", " : "") + quote(s.allowed[i]);
    return out;
  }
  if (s.kind == Kind::Bool) return kind_name(s.kind);
  std::string out = kind_name(s.kind);
  // Bounds at kMaxInt only guard against absurd counts; they are not worth stating.
  const bool has_lower = s.lower > -kInf, has_upper = s.upper < kMaxInt;
  if (has_lower && has_upper)
    out += std::string(" in ") + (s.lower_open ? "(" : "[") + format_number(s.lower) + ", " + format_number(s.upper) +
           (s.upper_open ? ")" : "]");
  else if (has_lower)
    out += std::string(s.lower_open ? " > " : " >= ") + format_number(s.lower);
  else if (has_upper)
    out += std::string(s.upper_open ? " < " : " <= ") + format_number(s.upper);
  return out;
}

// Schema helpers: each binds a key to a Config field by a pair of lambdas.
#define OURO_INT_KEY(SECTION, FIELD, LO, HI, TYPES, HELP)                                              \
  KeySpec {                                                                                           \
    #SECTION, #FIELD, Kind::Int, LO, HI, false, false, {}, TYPES, false, HELP,                        \
        [](Config& c, const Value& v) { c.SECTION.FIELD = std::get<std::int64_t>(v); },               \
        [](const Config& c) { return Value{c.SECTION.FIELD}; }                                        \
  }
#define OURO_FLOAT_KEY(SECTION, FIELD, LO, LO_OPEN, HI, HI_OPEN, TYPES, HELP)                          \
  KeySpec {                                                                                           \
    #SECTION, #FIELD, Kind::Float, LO, HI, LO_OPEN, HI_OPEN, {}, TYPES, false, HELP,                  \
        [](Config& c, const Value& v) { c.SECTION.FIELD = std::get<double>(v); },                     \
        [](const Config& c) { return Value{c.SECTION.FIELD}; }                                        \
  }
#define OURO_BOOL_KEY(SECTION, FIELD, TYPES, HELP)                                                     \
  KeySpec {                                                                                           \
    #SECTION, #FIELD, Kind::Bool, -kInf, kInf, false, false, {}, TYPES, false, HELP,                  \
        [](Config& c, const Value& v) { c.SECTION.FIELD = std::get<bool>(v); },                       \
        [](const Config& c) { return Value{c.SECTION.FIELD}; }                                        \
  }
#define OURO_STRING_KEY(SECTION, FIELD, ALLOWED, TYPES, REQUIRED, HELP)                                \
  KeySpec {                                                                                           \
    #SECTION, #FIELD, Kind::String, -kInf, kInf, false, false, ALLOWED, TYPES, REQUIRED, HELP,        \
        [](Config& c, const Value& v) { c.SECTION.FIELD = std::get<std::string>(v); },                \
        [](const Config& c) { return Value{c.SECTION.FIELD}; }                                        \
  }

using Strings = std::vector<std::string>;
const Strings kAll{};
const Strings kCharLstm{"char_lstm"};
const Strings kForecaster{"forecaster"};
const Strings kMlp{"mlp"};
const Strings kCharLstmMlp{"char_lstm", "mlp"};
const Strings kForecasterMlp{"forecaster", "mlp"};
const Strings kModelTypes{"char_lstm", "forecaster", "mlp", "gpt"};
const Strings kGpt{"gpt"};
const Strings kGptCharLstm{"gpt", "char_lstm"};
const Strings kRecurrentMlp{"char_lstm", "forecaster", "mlp"};
const Strings kCharLstmMlpGpt{"char_lstm", "mlp", "gpt"};
const Strings kCharLstmGpt{"char_lstm", "gpt"};

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> keys = {
      OURO_STRING_KEY(model, type, kModelTypes, kAll, true, "the model to train"),
      OURO_INT_KEY(model, embedding_dim, 1, 65536, kCharLstm, "size of each character's embedding"),
      OURO_INT_KEY(model, hidden_size, 1, 65536, kRecurrentMlp, "units per recurrent (mlp: hidden) layer"),
      OURO_INT_KEY(model, num_layers, 1, 64, kAll, "stacked recurrent (mlp: hidden; gpt: transformer) layers"),
      OURO_FLOAT_KEY(model, dropout, 0, false, 1, true, kCharLstmMlpGpt,
                     "dropout between layers in training (gpt: embeddings, attention, residuals)"),
      OURO_STRING_KEY(model, cell, (Strings{"lstm", "gru", "mlp"}), kForecaster, false,
                      "the one-step model: a recurrent cell, or an mlp over the flattened window"),
      OURO_STRING_KEY(model, activation, (Strings{"tanh", "relu", "sigmoid", "gelu"}), kMlp, false,
                      "hidden-layer activation"),
      OURO_INT_KEY(model, rollout, 1, 1 << 20, kForecaster, "steps predicted closed-loop per training sample"),
      OURO_STRING_KEY(model, sampling,
                      (Strings{"teacher_forcing", "free_running", "linear", "exponential", "inverse_sigmoid"}),
                      kForecaster, false, "which input a rollout step gets in training (scheduled sampling)"),
      OURO_FLOAT_KEY(model, sampling_decay_steps, 0, true, kInf, false, kForecaster,
                     "linear: batches until the teacher probability reaches its floor"),
      OURO_FLOAT_KEY(model, sampling_base, 0, true, 1, true, kForecaster,
                     "exponential: teacher probability = base^batch"),
      OURO_FLOAT_KEY(model, sampling_k, 1, false, kInf, false, kForecaster,
                     "inverse_sigmoid: teacher probability = k / (k + exp(batch / k))"),
      OURO_FLOAT_KEY(model, min_teacher_probability, 0, false, 1, false, kForecaster,
                     "floor of the teacher probability"),
      OURO_STRING_KEY(model, transform, (Strings{"none", "sqrt"}), kForecaster, false,
                      "applied to the values before standardising (sqrt: variance-stabilising, for counts; "
                      "its forecasts are never negative)"),
      OURO_STRING_KEY(model, linear_skip, (Strings{"none", "random", "least_squares"}), kForecaster, false,
                      "a linear path from the window to the output, added to the step model's (hybrid AR + "
                      "network); least_squares starts it at the AR(window) fit on the training part"),
      OURO_INT_KEY(model, context, 1, 1 << 20, kGpt, "tokens per training window (the learned positions)"),
      OURO_INT_KEY(model, width, 1, 65536, kGpt, "model width d_model (a multiple of heads)"),
      OURO_INT_KEY(model, heads, 1, 1024, kGpt, "attention heads per layer"),
      OURO_BOOL_KEY(model, tied_head, kGpt, "the output head shares the token embedding"),

      OURO_STRING_KEY(data, path, kAll, kAll, true,
                      "char_lstm, gpt: a corpus (fortunes, tang300, song100) or a fortune-format text file; "
                      "forecaster, mlp: a CSV file"),
      OURO_INT_KEY(data, seq_len, 1, 1 << 20, kCharLstm, "characters per training window (the BPTT length)"),
      OURO_BOOL_KEY(data, stateful, kCharLstm, "carry the LSTM state across batches (truncated BPTT over streams)"),
      OURO_INT_KEY(data, min_count, 1, kMaxInt, kCharLstmGpt,
                   "characters seen fewer times map to the unknown id (gpt: tokenizer = \"char\")"),
      OURO_STRING_KEY(data, column, kAll, kForecaster, false, "CSV column of the series (empty: the last)"),
      OURO_STRING_KEY(data, time_column, kAll, kForecaster, false, "CSV column of time stamps (empty: none)"),
      OURO_FLOAT_KEY(data, train_until, -kInf, false, kInf, false, kForecaster,
                     "with time_column: train on time <= this, validate on the rest (0: validation_fraction)"),
      OURO_INT_KEY(data, window, 1, 1 << 20, kForecaster, "past values the model sees per prediction"),
      OURO_BOOL_KEY(data, header, kForecasterMlp, "the CSV starts with a header line"),
      OURO_FLOAT_KEY(data, validation_fraction, 0, false, 1, true, kAll,
                     "share held out for validation (series: the last part; text: entries by train.seed)"),
      OURO_STRING_KEY(data, tokenizer, (Strings{"byte", "char", "bpe"}), kGpt, false,
                      "text to tokens: bytes, characters, or BPE (from encoder/merges, else learned)"),
      OURO_STRING_KEY(data, encoder, kAll, kGpt, false, "bpe: a GPT-2-format encoder.json (with merges)"),
      OURO_STRING_KEY(data, merges, kAll, kGpt, false, "bpe: a GPT-2-format vocab.bpe (with encoder)"),
      OURO_INT_KEY(data, vocab_size, 257, 1 << 24, kGpt, "bpe without files: the vocabulary learned from the training split"),
      OURO_STRING_KEY(data, exclude_files, kAll, kGptCharLstm, false,
                      "comma-separated corpus files (e.g. \"songs-poems\") left out of training; validation unchanged"),

      OURO_STRING_KEY(optim, name, (Strings{"sgd", "adam", "adamw", "rmsprop", "adagrad"}), kAll, false,
                      "optimizer"),
      OURO_FLOAT_KEY(optim, lr, 0, true, kInf, false, kAll, "learning rate"),
      OURO_FLOAT_KEY(optim, weight_decay, 0, false, kInf, false, kAll, "L2 (adamw: decoupled) weight decay"),
      OURO_FLOAT_KEY(optim, momentum, 0, false, 1, true, kAll, "momentum (sgd, rmsprop)"),
      OURO_FLOAT_KEY(optim, beta1, 0, false, 1, true, kAll, "first-moment decay (adam, adamw)"),
      OURO_FLOAT_KEY(optim, beta2, 0, false, 1, true, kAll, "second-moment decay (adam, adamw)"),
      OURO_FLOAT_KEY(optim, eps, 0, true, 1, false, kAll, "denominator guard (adam, adamw, rmsprop, adagrad)"),
      OURO_FLOAT_KEY(optim, clip_grad_norm, 0, false, kInf, false, kAll,
                     "max global gradient 2-norm before each step (0: no clipping)"),

      OURO_STRING_KEY(schedule, type, (Strings{"constant", "step", "exponential", "warmup_cosine"}), kAll, false,
                      "learning-rate schedule"),
      OURO_STRING_KEY(schedule, unit, (Strings{"step", "epoch"}), kAll, false,
                      "the schedule advances once per optimizer step or per epoch"),
      OURO_INT_KEY(schedule, warmup_steps, 0, kMaxInt, kAll, "warmup_cosine: linear warm-up length"),
      OURO_INT_KEY(schedule, total_steps, 0, kMaxInt, kAll,
                   "warmup_cosine: where the lr reaches min_lr (0: the run's length)"),
      OURO_FLOAT_KEY(schedule, min_lr, 0, false, kInf, false, kAll, "warmup_cosine: final lr"),
      OURO_INT_KEY(schedule, step_size, 1, kMaxInt, kAll, "step: units between decays"),
      OURO_FLOAT_KEY(schedule, gamma, 0, true, 1, false, kAll, "step, exponential: decay factor"),

      OURO_STRING_KEY(train, run_dir, kAll, kAll, true,
                      "run directory: config.toml, checkpoints/, metrics.jsonl (created if missing)"),
      OURO_INT_KEY(train, epochs, 1, kMaxInt, kAll, "passes over the training data"),
      OURO_INT_KEY(train, max_steps, 0, kMaxInt, kAll, "stop after this many optimizer steps (0: no limit)"),
      OURO_INT_KEY(train, batch_size, 1, 1 << 24, kAll, "samples per batch"),
      OURO_INT_KEY(train, gradient_accumulation_steps, 1, 1 << 20, kAll, "batches per optimizer step"),
      OURO_INT_KEY(train, seed, 0, kMaxInt, kAll, "seed of weights, shuffling and dropout"),
      OURO_INT_KEY(train, log_every, 1, kMaxInt, kAll, "steps between metrics.jsonl records"),
      OURO_INT_KEY(train, checkpoint_every, 0, kMaxInt, kAll,
                   "steps between checkpoints (0: at epoch ends; one is always written at the end)"),
      OURO_INT_KEY(train, keep_checkpoints, 1, 1 << 20, kAll, "newest checkpoints kept"),
      OURO_STRING_KEY(train, progress, (Strings{"auto", "bar", "lines", "silent"}), kAll, false,
                      "progress display on stdout"),
      OURO_FLOAT_KEY(train, max_seconds, 0, false, kInf, false, kAll,
                     "stop after the step that passes this wall time, with a checkpoint (0: no limit)"),
      OURO_INT_KEY(train, eval_every, 0, kMaxInt, kGpt,
                   "steps between validations over the whole split, in bits per byte (0: at the end only)"),
      OURO_STRING_KEY(train, on_nan, (Strings{"stop", "skip"}), kAll, false,
                      "a step with a NaN/infinite loss or gradient: stop the run before its update (exit code 1; "
                      "the last checkpoint is good), or skip its update and go on"),
      OURO_INT_KEY(train, debug_inject_nan_step, -1, kMaxInt, kAll,
                   "test hook: put a NaN into one gradient at this step (steps taken before it; -1: never)"),

      OURO_STRING_KEY(finetune, init_from, kAll, kAll, false,
                      "ouro finetune: the base checkpoint or run directory (--from overrides it)"),
      OURO_STRING_KEY(finetune, mode, (Strings{"full", "freeze", "lora"}), kAll, false,
                      "ouro finetune: train every weight, the unfrozen ones, or LoRA adapters only"),
      OURO_STRING_KEY(finetune, freeze, kAll, kAll, false,
                      "freeze: parameter-name globs to freeze, comma-separated (\"*\": all)"),
      OURO_STRING_KEY(finetune, unfreeze, kAll, kAll, false,
                      "freeze: globs made trainable again after freezing (e.g. \"h.3.*,ln_f.*\")"),
      OURO_INT_KEY(finetune, lora_rank, 1, 65536, kAll, "lora: adapter rank r"),
      OURO_FLOAT_KEY(finetune, lora_alpha, 0, true, kInf, false, kAll, "lora: scale alpha (the update is alpha/r B A x)"),
      OURO_FLOAT_KEY(finetune, lora_dropout, 0, false, 1, true, kAll, "lora: dropout on the adapter's input"),
      OURO_STRING_KEY(finetune, lora_targets, kAll, kAll, false,
                      "lora: Linear layers adapted, by name or path glob, comma-separated (e.g. \"c_attn,c_proj,c_fc\")"),
  };
  return keys;
}

#undef OURO_INT_KEY
#undef OURO_FLOAT_KEY
#undef OURO_BOOL_KEY
#undef OURO_STRING_KEY

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"model", "data", "optim", "schedule", "train", "finetune"};
  return names;
}

const KeySpec* find_key(const std::string& dotted) {
  for (const KeySpec& s : schema())
    if (s.dotted() == dotted) return &s;
  return nullptr;
}

std::string suggestion(const std::string& name, const std::vector<std::string>& candidates) {
  const std::string best = closest_name(name, candidates);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string keys_of_section(const std::string& section) {
  std::string out;
  for (const KeySpec& s : schema())
    if (s.section == section) out += (out.empty() ? "" : ", ") + s.key;
  return out;
}

// Checks a typed value against its key's range / allowed values.
void check_value(const KeySpec& spec, const Value& v, const std::string& where) {
  auto fail = [&]() {
    throw ConfigError(where + ": key '" + spec.dotted() + "' = " + describe_value(v) + " is not allowed: expected " +
                      describe_allowed(spec));
  };
  if (spec.kind == Kind::String) {
    const auto& s = std::get<std::string>(v);
    if (!spec.allowed.empty() && std::find(spec.allowed.begin(), spec.allowed.end(), s) == spec.allowed.end()) {
      const std::string best = closest_name(s, spec.allowed);
      throw ConfigError(where + ": key '" + spec.dotted() + "' = " + describe_value(v) + " is not allowed: expected " +
                        describe_allowed(spec) + (best.empty() ? "" : " (did you mean \"" + best + "\"?)"));
    }
    if (spec.required && s.empty())
      throw ConfigError(where + ": key '" + spec.dotted() + "' = \"\" is not allowed: expected a non-empty string");
    return;
  }
  if (spec.kind == Kind::Bool) return;
  const double x = spec.kind == Kind::Int ? static_cast<double>(std::get<std::int64_t>(v)) : std::get<double>(v);
  if (std::isnan(x)) fail();
  // inf would pass a bound such as "> 0" yet has no use as a rate, a size or a time, and JSON
  // (the checkpoint metadata the config is copied into) cannot hold it.
  if (std::isinf(x))
    throw ConfigError(where + ": key '" + spec.dotted() + "' = " + describe_value(v) +
                      " is not allowed: expected a finite value, " + describe_allowed(spec));
  if (x < spec.lower || (spec.lower_open && x == spec.lower)) fail();
  if (x > spec.upper || (spec.upper_open && x == spec.upper)) fail();
}

// A string value must be one that config.toml and the checkpoint's JSON metadata can store
// again: UTF-8 without control characters.
void check_text(const KeySpec& spec, const std::string& value, const std::string& where) {
  const bool control =
      std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
  if (control || !utf8::is_valid(value))
    throw ConfigError(where + ": key '" + spec.dotted() + "': expected UTF-8 text without control characters");
}

// A TOML node as the key's type, or an error naming the type found.
Value value_from_node(const KeySpec& spec, const toml::node& node, const std::string& where) {
  auto wrong = [&](const std::string& found) -> Value {
    throw ConfigError(where + ": key '" + spec.dotted() + "' = " + found + " has the wrong type: expected " +
                      describe_allowed(spec));
  };
  const std::string found = node.is_string() ? quote(node.as_string()->get()) : node.visit([](const auto& typed) {
    std::ostringstream shown;
    shown << typed;
    return shown.str();
  });
  switch (spec.kind) {
    case Kind::Int:
      if (const auto* i = node.as_integer()) return Value{i->get()};
      return wrong(found);
    case Kind::Float:
      if (const auto* f = node.as_floating_point()) return Value{f->get()};
      if (const auto* i = node.as_integer()) return Value{static_cast<double>(i->get())};
      return wrong(found);
    case Kind::Bool:
      if (const auto* b = node.as_boolean()) return Value{b->get()};
      return wrong(found);
    case Kind::String:
      if (const auto* s = node.as_string()) {
        check_text(spec, s->get(), where);
        return Value{s->get()};
      }
      return wrong(found);
  }
  return wrong(found);
}

// An override's text as the key's type: "3", "0.5", "true", "adam" or "\"adam\"".
Value value_from_text(const KeySpec& spec, const std::string& text, const std::string& where) {
  auto wrong = [&]() -> Value {
    throw ConfigError(where + ": key '" + spec.dotted() + "' = '" + text + "' has the wrong type: expected " +
                      describe_allowed(spec));
  };
  switch (spec.kind) {
    case Kind::Int: {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return wrong();
      return Value{v};
    }
    case Kind::Float: {
      if (text.empty()) return wrong();
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) return wrong();
      return Value{v};
    }
    case Kind::Bool:
      if (text == "true") return Value{true};
      if (text == "false") return Value{false};
      return wrong();
    case Kind::String: {
      // A run directory named with an invalid byte used to start training and then fail
      // writing its first checkpoint.
      const bool quoted = text.size() >= 2 && text.front() == '"' && text.back() == '"';
      const std::string value = quoted ? text.substr(1, text.size() - 2) : text;
      if (!quoted && !text.empty() && text.front() == '"')
        throw ConfigError(where + ": key '" + spec.dotted() + "': the value opens a quote it does not close; write " +
                          spec.dotted() + "=\"...\" or leave the quotes out");
      check_text(spec, value, where);
      return Value{value};
    }
  }
  return wrong();
}

std::string node_where(const std::string& source, const toml::node& node) {
  const auto& begin = node.source().begin;
  if (begin.line == 0) return "config '" + source + "'";
  // file:line:column, as compilers write it, so that editors can jump there.
  return source + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
}

bool applies(const KeySpec& spec, const std::string& model_type) {
  return spec.model_types.empty() ||
         std::find(spec.model_types.begin(), spec.model_types.end(), model_type) != spec.model_types.end();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

// toml++ 3.3 (Debian 12's) classifies some non-ASCII code points with a lookup whose default
// case is __builtin_unreachable (upstream issues #190 and #295, fixed after 3.3): undefined
// behaviour, found by fuzz/config.cpp. It asks whether a code point is whitespace wherever
// whitespace may appear: between tokens, after a value, in keys (which it records for error
// messages, quoted ones included), after a backslash in a multi-line basic string and on the
// lines a line-ending backslash skips. Every such code point outside a string value or a
// comment is a syntax error in TOML 1.0 anyway, and a config's keys are ASCII names, so this
// scan rejects non-ASCII bytes everywhere except in comments and in strings that are values
// (after '='), before toml++ sees them. The one valid TOML it refuses: a non-ASCII character
// first after a line-ending backslash in a multi-line string.
void reject_what_toml_cannot_read(std::string_view text, const std::string& source) {
  enum class State { Normal, Comment, Basic, MultiBasic, Literal, MultiLiteral };
  State state = State::Normal;
  bool value_string = false;  // the string being scanned follows '='
  char previous = '\n';       // the last significant character outside strings and comments
  std::size_t line = 1, column = 0;
  auto fail = [&](std::size_t at, const char* what) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[at])));
    throw ConfigError(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                      ": TOML syntax error: a non-ASCII character (first byte " + byte + ") " + what);
  };
  auto starts = [&](std::size_t at, std::string_view s) { return text.substr(at, s.size()) == s; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ascii = static_cast<unsigned char>(c) < 0x80;
    if (c == '\n') {
      ++line;
      column = 0;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++column;  // code points, as toml++ counts columns
    }
    switch (state) {
      case State::Normal:
        if (!ascii) fail(i, "outside a quoted string value or comment (keys, section names and bare values are ASCII)");
        if (c == '#') {
          state = State::Comment;
        } else if (c == '"' || c == '\'') {
          const bool multi = starts(i, c == '"' ? "\"\"\"" : "\'\'\'");
          state = c == '"' ? (multi ? State::MultiBasic : State::Basic) : (multi ? State::MultiLiteral : State::Literal);
          value_string = previous == '=';
          if (multi) i += 2, column += 2;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          previous = c;
        }
        break;
      case State::Comment:
        if (c == '\n') state = State::Normal;
        break;
      case State::Basic:
      case State::Literal:
        if (!ascii && !value_string) fail(i, "in a quoted key or a string that is not a value");
        if (c == '\\' && state == State::Basic && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i, ++column;  // an escaped character cannot end the string
        } else if (c == (state == State::Basic ? '"' : '\'') || c == '\n') {
          state = State::Normal;
          previous = '"';
        }
        break;
      case State::MultiBasic:
      case State::MultiLiteral:
        if (!ascii && !value_string) fail(i, "in a multi-line string that is not a value");
        if (c == '\\' && state == State::MultiBasic && i + 1 < text.size()) {
          std::size_t next = i + 1;
          if (static_cast<unsigned char>(text[next]) >= 0x80) {
            ++column;
            fail(next, "after a backslash (TOML escapes are ASCII letters)");
          }
          if (text[next] == ' ' || text[next] == '\t' || text[next] == '\r' || text[next] == '\n') {
            while (next < text.size() && (text[next] == ' ' || text[next] == '\t' || text[next] == '\r' || text[next] == '\n')) {
              if (text[next] == '\n') ++line, column = 0;
              else ++column;
              ++next;
            }
            if (next < text.size() && static_cast<unsigned char>(text[next]) >= 0x80) {
              ++column;
              fail(next, "first after a line-ending backslash, which the TOML library of this build misreads "
                         "(start the line with an ASCII character or drop the backslash)");
            }
            i = next - 1;
          } else {
            ++i, ++column;  // the escaped character
          }
        } else if (starts(i, state == State::MultiBasic ? "\"\"\"" : "\'\'\'")) {
          // Up to two more quotes belong to the string ("""a""""" is a"" ).
          while (i + 1 < text.size() && text[i + 1] == c) ++i, ++column;
          state = State::Normal;
          previous = '"';
        }
        break;
    }
  }
}

}  // namespace

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string& c : candidates) {
    // Edit distance counting a swap of neighbours as one edit ("trian" -> "train"), as typos
    // often are: optimal string alignment over three rows.
    std::vector<std::size_t> before(c.size() + 1), previous(c.size() + 1), current(c.size() + 1);
    for (std::size_t j = 0; j <= c.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= name.size(); ++i) {
      current[0] = i;
      for (std::size_t j = 1; j <= c.size(); ++j) {
        current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (name[i - 1] != c[j - 1])});
        if (i > 1 && j > 1 && name[i - 1] == c[j - 2] && name[i - 2] == c[j - 1])
          current[j] = std::min(current[j], before[j - 2] + 1);
      }
      std::swap(before, previous);
      std::swap(previous, current);
    }
    std::size_t distance = previous[c.size()];
    // A prefix either way ("lr" for "lr_min", "learning" for "learning_rate") is a likely slip too.
    const bool prefix = !name.empty() && (c.rfind(name, 0) == 0 || name.rfind(c, 0) == 0);
    if (!prefix && distance > std::max<std::size_t>(1, name.size() / 3)) continue;
    if (prefix) distance = std::min(distance, std::size_t{1});
    if (distance < best_distance) {
      best_distance = distance;
      best = c;
    }
  }
  return best;
}

std::vector<std::string> split_config_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    start = end + 1;
  }
  return out;
}

std::string config_value(const Config& config, const std::string& dotted_key) {
  const KeySpec* spec = find_key(dotted_key);
  OURO_CHECK(spec != nullptr, "config_value: unknown key '", dotted_key, "'");
  return describe_value(spec->get(config));
}

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  for (const KeySpec& s : schema()) out.push_back(s.dotted());
  return out;
}

Config parse_config(std::string_view toml_text, const std::string& source, const std::vector<std::string>& overrides) {
  reject_what_toml_cannot_read(toml_text, source);
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                      ": TOML syntax error: " + std::string(e.description()));
  }

  Config config;
  std::set<std::string>& given = config.given;  // keys written in the file or overridden
  std::map<std::string, std::string> given_where;

  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (table == nullptr) {
      // A key outside any section: say which section holds a key of that name.
      std::string hint;
      for (const KeySpec& s : schema())
        if (s.key == section) hint = " (did you mean '" + s.dotted() + "'?)";
      if (hint.empty()) hint = suggestion(section, config_keys());
      throw ConfigError(node_where(source, section_node) + ": key '" + section +
                        "' is outside any section; keys belong in [" + joined(section_names()) + "]" + hint);
    }
    if (std::find(section_names().begin(), section_names().end(), section) == section_names().end()) {
      const std::string best = closest_name(section, section_names());
      throw ConfigError(node_where(source, section_node) + ": unknown section [" + section + "]" +
                        (best.empty() ? "" : " (did you mean [" + best + "]?)") + "; sections are [" +
                        joined(section_names()) + "]");
    }
    for (const auto& [key_name, node] : *table) {
      const std::string dotted = section + "." + std::string(key_name.str());
      const KeySpec* spec = find_key(dotted);
      const std::string where = node_where(source, node);
      if (spec == nullptr) {
        std::vector<std::string> candidates = config_keys();
        throw ConfigError(where + ": unknown key '" + dotted + "'" + suggestion(dotted, candidates) +
                          "; keys of [" + section + "]: " + keys_of_section(section));
      }
      const Value v = value_from_node(*spec, node, where);
      check_value(*spec, v, where);
      spec->set(config, v);
      given.insert(dotted);
      given_where[dotted] = where;
    }
  }

  for (const std::string& assignment : overrides) {
    const std::string where = "--set " + assignment;
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError(where + ": expected key=value with a dotted key, e.g. optim.lr=0.01");
    const std::string dotted = assignment.substr(0, eq);
    const KeySpec* spec = find_key(dotted);
    if (spec == nullptr) {
      std::string hint = suggestion(dotted, config_keys());
      if (hint.empty() && dotted.find('.') == std::string::npos)
        for (const KeySpec& s : schema())
          if (s.key == dotted) hint = " (did you mean '" + s.dotted() + "'?)";
      throw ConfigError(where + ": unknown key '" + dotted + "'" + hint);
    }
    const Value v = value_from_text(*spec, assignment.substr(eq + 1), where);
    check_value(*spec, v, where);
    spec->set(config, v);
    given.insert(dotted);
    given_where[dotted] = where;
  }

  // Whole-config checks, once every value is known.
  const std::string file_where = "config '" + source + "'";
  for (const KeySpec& s : schema())
    if (s.required && given.count(s.dotted()) == 0)
      throw ConfigError(file_where + ": missing required key '" + s.dotted() + "' (" + s.help + "; expected " +
                        describe_allowed(s) + ")");
  for (const std::string& dotted : given) {
    const KeySpec& s = *find_key(dotted);
    if (!applies(s, config.model.type))
      throw ConfigError(given_where[dotted] + ": key '" + dotted + "' does not apply to model.type = \"" +
                        config.model.type + "\" (it is for: " + joined(s.model_types) + ")");
  }
  if (config.schedule.type == "warmup_cosine" && config.schedule.total_steps > 0 &&
      config.schedule.warmup_steps > config.schedule.total_steps)
    throw ConfigError(given_where.count("schedule.warmup_steps") ? given_where["schedule.warmup_steps"] + ": key 'schedule.warmup_steps' = " +
                                                                       std::to_string(config.schedule.warmup_steps) +
                                                                       " exceeds schedule.total_steps = " +
                                                                       std::to_string(config.schedule.total_steps)
                                                                 : file_where + ": schedule.warmup_steps exceeds schedule.total_steps");
  return config;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    throw ConfigError("config '" + path + "': is a directory; expected a TOML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("config '" + path + "': cannot open the file for reading");
  // Read at most a bound past any real config: /dev/zero or a huge file given by mistake
  // would otherwise be read until memory runs out (pipes such as /dev/stdin stay allowed).
  constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      throw ConfigError("config '" + path + "': larger than 16 MiB; expected a TOML config file");
  }
  if (in.bad()) throw ConfigError("config '" + path + "': reading the file failed");
  return parse_config(text, path, overrides);
}

std::string config_to_toml(const Config& config) {
  std::string out;
  for (const std::string& section : section_names()) {
    // A training config has no [finetune] section; keep its file free of one.
    if (section == "finetune" && config.finetune.mode.empty()) continue;
    std::string body;
    for (const KeySpec& s : schema()) {
      if (s.section != section || !applies(s, config.model.type)) continue;
      body += s.key + " = " + describe_value(s.get(config));
      // Floats keep a decimal point so that they read back as TOML floats.
      if (s.kind == Kind::Float) {
        const std::string shown = describe_value(s.get(config));
        if (shown.find_first_of(".eEn") == std::string::npos) body += ".0";
      }
      body += "\n";
    }
    if (body.empty()) continue;
    if (!out.empty()) out += '\n';
    out.append("[").append(section).append("]\n").append(body);
  }
  return out;
}

std::string config_reference() {
  std::string out;
  std::string section;
  for (const KeySpec& s : schema()) {
    if (s.section != section) {
      section = s.section;
      if (!out.empty()) out += '\n';
      out.append("[").append(section).append("]\n");
    }
    Config defaults;
    std::string line = "  " + s.key + " = " + (s.required ? std::string("(required)") : describe_value(s.get(defaults)));
    line += "    " + describe_allowed(s);
    if (!s.model_types.empty()) line += "; " + joined(s.model_types) + " only";
    line += "; " + s.help + "\n";
    out += line;
  }
  return out;
}

}  // namespace ouro
