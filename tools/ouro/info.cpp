// `ouro info`: what this build is and how it will run (threads, BLAS, memory).
#include <cstdio>

#include "ouro/ouro.h"

extern "C" char* openblas_get_config(void);

int run_info(int, char**) {
  std::printf("ouro 0.1.0\n");
  std::printf("threads: %d (set OURO_NUM_THREADS to change)\n", ouro::num_threads());
  std::printf("blas: %s\n", openblas_get_config());
  const auto stats = ouro::memory_stats();
  std::printf("memory: live %zu bytes, peak %zu bytes, cached %zu bytes\n", stats.live_bytes, stats.peak_bytes,
              stats.cached_bytes);
  return 0;
}
