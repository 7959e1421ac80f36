#include "ouro/data/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "ouro/core/error.h"

namespace ouro {

namespace {

using Pair = std::uint64_t;  // (first id << 32) | second id
Pair make_pair_key(std::uint32_t a, std::uint32_t b) { return (static_cast<Pair>(a) << 32) | b; }

struct Candidate {
  std::int64_t count;
  Pair pair;
  // Highest count first; on a tie the smaller pair key (older symbols) first.
  bool operator<(const Candidate& other) const {
    return count != other.count ? count < other.count : pair > other.pair;
  }
};

}  // namespace

BpeTokenizer train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options) {
  const std::int64_t reserved = options.end_of_text_token ? 1 : 0;
  OURO_CHECK(options.vocab_size >= 256 + reserved, "train_bpe: vocab_size must be at least ", 256 + reserved,
             " (every byte, plus the end-of-text token), got ", options.vocab_size);
  OURO_CHECK(options.min_frequency >= 1, "train_bpe: min_frequency must be at least 1, got ", options.min_frequency);

  // Distinct pieces with their counts, in a fixed (sorted) order for determinism.
  std::map<std::string, std::int64_t> piece_counts;
  for (const std::string& text : texts)
    for (std::string_view piece : BpeTokenizer::pre_tokenize(text)) ++piece_counts[std::string(piece)];

  std::vector<std::string> symbols(byte_stand_ins().begin(), byte_stand_ins().end());
  std::vector<std::vector<std::uint32_t>> words;
  std::vector<std::int64_t> frequency;
  words.reserve(piece_counts.size());
  for (const auto& [piece, count] : piece_counts) {
    std::vector<std::uint32_t> word;
    word.reserve(piece.size());
    for (unsigned char b : piece) word.push_back(b);
    words.push_back(std::move(word));
    frequency.push_back(count);
  }

  std::unordered_map<Pair, std::int64_t> pair_count;
  std::unordered_map<Pair, std::vector<std::uint32_t>> pair_words;  // may list a word twice or stale
  for (std::uint32_t w = 0; w < words.size(); ++w)
    for (std::size_t k = 0; k + 1 < words[w].size(); ++k) {
      const Pair p = make_pair_key(words[w][k], words[w][k + 1]);
      pair_count[p] += frequency[w];
      pair_words[p].push_back(w);
    }
  std::priority_queue<Candidate> queue;
  for (const auto& [p, c] : pair_count) queue.push({c, p});

  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::uint32_t> seen(words.size(), UINT32_MAX);
  while (static_cast<std::int64_t>(symbols.size()) < options.vocab_size - reserved && !queue.empty()) {
    const Candidate best = queue.top();
    queue.pop();
    const auto live = pair_count.find(best.pair);
    if (live == pair_count.end() || live->second != best.count) continue;  // stale entry
    if (best.count < options.min_frequency) break;
    const auto a = static_cast<std::uint32_t>(best.pair >> 32), b = static_cast<std::uint32_t>(best.pair);
    const auto merged = static_cast<std::uint32_t>(symbols.size());
    symbols.push_back(symbols[a] + symbols[b]);
    merges.emplace_back(symbols[a], symbols[b]);

    std::unordered_set<Pair> touched;
    const std::vector<std::uint32_t> affected = std::move(pair_words[best.pair]);
    pair_words.erase(best.pair);
    for (std::uint32_t w : affected) {
      if (seen[w] == merged) continue;
      seen[w] = merged;
      std::vector<std::uint32_t>& word = words[w];
      const std::int64_t f = frequency[w];
      for (std::size_t k = 0; k + 1 < word.size(); ++k) {
        const Pair p = make_pair_key(word[k], word[k + 1]);
        pair_count[p] -= f;
        touched.insert(p);
      }
      std::vector<std::uint32_t> next;
      next.reserve(word.size());
      for (std::size_t k = 0; k < word.size();) {
        if (k + 1 < word.size() && word[k] == a && word[k + 1] == b) {
          next.push_back(merged);
          k += 2;
        } else {
          next.push_back(word[k++]);
        }
      }
      word = std::move(next);
      for (std::size_t k = 0; k + 1 < word.size(); ++k) {
        const Pair p = make_pair_key(word[k], word[k + 1]);
        pair_count[p] += f;
        touched.insert(p);
        if (word[k] == merged || word[k + 1] == merged) pair_words[p].push_back(w);
      }
    }
    // Re-queue in a fixed order so that ties resolve the same way on every run.
    std::vector<Pair> changed(touched.begin(), touched.end());
    std::sort(changed.begin(), changed.end());
    for (Pair p : changed) {
      const std::int64_t c = pair_count[p];
      if (c > 0) queue.push({c, p});
      else pair_count.erase(p);
    }
  }
  if (options.end_of_text_token) symbols.push_back("<|endoftext|>");
  return BpeTokenizer::from_vocabulary(std::move(symbols), std::move(merges));
}

}  // namespace ouro
