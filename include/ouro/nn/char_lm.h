// CharLM: a character-level language model — Embedding -> stacked LSTM (dropout between
// layers and before the decoder) -> Linear to the vocabulary — that owns its CharVocab, so a
// checkpoint's "model_config" metadata is enough to rebuild it for generation.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "ouro/data/char_vocab.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/module.h"
#include "ouro/nn/recurrent.h"
#include "ouro/tensor/random.h"

namespace ouro {

struct CharLMOptions {
  std::int64_t embedding_dim = 64;
  std::int64_t hidden_size = 256;
  std::int64_t num_layers = 2;
  double dropout = 0.0;  // between LSTM layers and on the last layer's output, training only
  // Training only: each forward starts from the final state of the previous one (detached),
  // when the batch size matches: truncated BPTT over the streams of make_lm_streams. Reset it
  // with reset_state() (ResetStateEachEpoch does so at every epoch start). In eval mode
  // forward always starts from zeros; use forward_with_state to carry state explicitly.
  bool stateful = false;
  std::uint64_t seed = 0;  // initial weights and the dropout generator
};

class CharLM : public Module {
 public:
  CharLM(CharVocab vocab, CharLMOptions options = {});
  std::string type_name() const override { return "CharLM"; }
  // {"embedding_dim", "hidden_size", "num_layers", "dropout", "stateful", "seed",
  //  "vocab_size", "vocab": CharVocab JSON object}
  std::string config_json() const override;
  // Rebuilds the (untrained) model from config_json's text.
  static std::shared_ptr<CharLM> from_config_json(const std::string& json);

  using Module::forward;
  // ids int64 [B, T] -> logits float32 [B, T, V].
  Tensor forward(const Tensor& ids) override;
  // The same from an explicit initial state (undefined members: zeros), returning the final
  // state too: [num_layers, B, H] each, as torch.nn.LSTM.
  RecurrentOutput forward_with_state(const Tensor& ids, const RecurrentState& initial);
  void reset_state() { carried_ = RecurrentState{}; }
  // The stateful carry as {"h", "c"} (each present when defined), for training checkpoints.
  StateDict carried_tensors() const override;
  void load_carried_tensors(const StateDict& carried) override;

  const CharVocab& vocab() const { return vocab_; }
  const CharLMOptions& options() const { return options_; }
  // Drew the initial weights and draws every dropout mask: register it in
  // FitOptions::generators so that checkpoints resume exactly.
  Generator& generator() { return generator_; }

 private:
  CharVocab vocab_;
  CharLMOptions options_;
  Generator generator_;
  std::shared_ptr<Embedding> embedding_;
  std::shared_ptr<LSTM> lstm_;
  std::shared_ptr<Linear> decoder_;
  RecurrentState carried_;
};

}  // namespace ouro
