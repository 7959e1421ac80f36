#include "ouro/nn/char_lm.h"

#include <nlohmann/json.hpp>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/ops/dropout.h"

namespace ouro {

CharLM::CharLM(CharVocab vocab, CharLMOptions options)
    : vocab_(std::move(vocab)),
      options_(options),
      generator_(options.seed) {
  OURO_CHECK(options.embedding_dim > 0 && options.hidden_size > 0 && options.num_layers > 0,
             "CharLM: embedding_dim, hidden_size and num_layers must be positive, got ", options.embedding_dim, ", ",
             options.hidden_size, ", ", options.num_layers);
  OURO_CHECK(options.dropout >= 0 && options.dropout < 1, "CharLM: dropout must lie in [0, 1), got ", options.dropout);
  OURO_CHECK(vocab_.size() >= 2, "CharLM: the vocabulary needs at least one character besides the unknown id");
  // One generator draws the initial weights (embedding N(0, 1) as torch.nn.Embedding, then the
  // LSTM, then the decoder) and afterwards every dropout mask, the LSTM's included.
  embedding_ = register_module("embedding",
                               std::make_shared<Embedding>(vocab_.size(), options.embedding_dim, &generator_));
  lstm_ = register_module("lstm", std::make_shared<LSTM>(RecurrentOptions{.input_size = options.embedding_dim,
                                                                          .hidden_size = options.hidden_size,
                                                                          .num_layers = options.num_layers,
                                                                          .batch_first = true,
                                                                          .dropout = options.dropout,
                                                                          .return_sequences = true,
                                                                          .stateful = false,
                                                                          .generator = &generator_}));
  decoder_ = register_module("decoder", std::make_shared<Linear>(LinearOptions{.in = options.hidden_size,
                                                                               .out = vocab_.size(),
                                                                               .generator = &generator_}));
}

std::string CharLM::config_json() const {
  nlohmann::json j;
  j["embedding_dim"] = options_.embedding_dim;
  j["hidden_size"] = options_.hidden_size;
  j["num_layers"] = options_.num_layers;
  j["dropout"] = options_.dropout;
  j["stateful"] = options_.stateful;
  j["seed"] = options_.seed;
  j["vocab_size"] = vocab_.size();
  j["vocab"] = nlohmann::json::parse(vocab_.to_json());
  return j.dump();
}

std::shared_ptr<CharLM> CharLM::from_config_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("CharLM::from_config_json: not valid JSON: ") + e.what());
  }
  OURO_CHECK(j.is_object(), "CharLM::from_config_json: expected a JSON object");
  for (const char* key : {"embedding_dim", "hidden_size", "num_layers", "dropout", "stateful", "seed", "vocab"})
    OURO_CHECK(j.contains(key), "CharLM::from_config_json: missing key '", key, "'");
  try {
    CharLMOptions options{.embedding_dim = j["embedding_dim"].get<std::int64_t>(),
                          .hidden_size = j["hidden_size"].get<std::int64_t>(),
                          .num_layers = j["num_layers"].get<std::int64_t>(),
                          .dropout = j["dropout"].get<double>(),
                          .stateful = j["stateful"].get<bool>(),
                          .seed = j["seed"].get<std::uint64_t>()};
    return std::make_shared<CharLM>(CharVocab::from_json(j["vocab"].dump()), options);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("CharLM::from_config_json: a key has the wrong type: ") + e.what());
  }
}

StateDict CharLM::carried_tensors() const { return carried_state_tensors(carried_); }

void CharLM::load_carried_tensors(const StateDict& carried) {
  carried_ = carried_state_from_tensors(carried, "CharLM");
}

RecurrentOutput CharLM::forward_with_state(const Tensor& ids, const RecurrentState& initial) {
  OURO_CHECK(ids.defined() && ids.dtype() == DType::Int64 && ids.dim() == 2,
             "CharLM: expected int64 character ids [batch, steps], got ",
             ids.defined() ? ids.describe() : std::string("an undefined tensor"));
  const Tensor x = embedding_->forward(ids);
  RecurrentOutput out = lstm_->forward(x, initial);
  const Tensor h = dropout(out.output, options_.dropout, is_training(), &generator_);
  out.output = decoder_->forward(h);
  return out;
}

Tensor CharLM::forward(const Tensor& ids) {
  RecurrentState initial;
  const bool carry = options_.stateful && is_training();
  if (carry && carried_.h.defined() && carried_.h.size(1) == ids.size(0)) initial = carried_;
  RecurrentOutput out = forward_with_state(ids, initial);
  if (carry) carried_ = RecurrentState{out.state.h.detach(), out.state.c.detach()};
  return out.output;
}

}  // namespace ouro
