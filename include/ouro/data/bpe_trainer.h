// Learning a byte-level BPE vocabulary from a corpus, in GPT-2's format: the text is split by
// GPT-2's pre-tokenisation pattern, and the most frequent adjacent pair of symbols (counted
// over all pieces, weighted by how often each piece occurs) is merged, again and again, until
// the vocabulary has the size asked for. Merges never cross a piece boundary.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ouro/data/bpe_tokenizer.h"

namespace ouro {

struct BpeTrainOptions {
  std::int64_t vocab_size = 4096;  // total: 256 byte symbols + merges (+ 1 end-of-text token)
  std::int64_t min_frequency = 2;  // stop early when the best pair occurs less often than this
  bool end_of_text_token = true;   // append "<|endoftext|>" as the last id, as GPT-2 does
};

// Deterministic: ties between equally frequent pairs go to the pair whose symbols were made
// first (smaller ids), so the same texts and options always give the same vocabulary.
BpeTokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options = {});

}  // namespace ouro
