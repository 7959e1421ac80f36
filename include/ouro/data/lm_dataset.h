// Language-model batches from a token stream: (input window, next-token targets) pairs as a
// Dataset the Trainer takes as it is (sparse cross-entropy over every position of [B, T, V]
// logits against [B, T] int64 targets), in two layouts.
#pragma once
#include <cstdint>
#include <vector>

#include "ouro/data/dataset.h"

namespace ouro {

// Windows of `window` tokens starting every `stride` tokens (0: stride = window, so each
// token is a target once): inputs int64 [N, window] = ids[s, s+window), targets int64
// [N, window] = ids[s+1, s+window+1). Shuffle them freely: every window starts from scratch.
Dataset make_lm_windows(const std::vector<std::int64_t>& ids, std::int64_t window, std::int64_t stride = 0);

// The same pairs laid out for stateful truncated BPTT: the stream is cut into `streams`
// contiguous pieces of equal length, and row i * streams + b holds chunk i of piece b. Read in
// order in batches of `streams` rows (DataLoader / fit with batch_size = streams, shuffle off),
// batch i+1 continues every row of batch i exactly where it stopped, so a model that carries
// its recurrent state across batches sees each piece as one long sequence. The last
// ((ids.size() - 1) mod (streams * window)) tokens are left out.
Dataset make_lm_streams(const std::vector<std::int64_t>& ids, std::int64_t streams, std::int64_t window);

}  // namespace ouro
