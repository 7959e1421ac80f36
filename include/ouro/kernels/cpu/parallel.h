// Thread count for every kernel and for OpenBLAS: one OpenMP pool, sized by OURO_NUM_THREADS
// (default: all cores). Work is split statically, so results depend only on the thread count.
#pragma once
#include <cstdint>

namespace ouro {

int num_threads();
void set_num_threads(int threads);

namespace kernels {
// OpenBLAS's own thread count, changed only when it differs from the last one set (raising it
// makes OpenBLAS allocate per-thread buffers).
void set_blas_threads(int threads);

// Below this many elements a loop runs on one thread: waking the pool costs more than it saves.
constexpr std::int64_t kParallelGrain = 1 << 15;

inline int threads_for(std::int64_t work) {
  return work < kParallelGrain ? 1 : num_threads();
}
}  // namespace kernels
}  // namespace ouro
