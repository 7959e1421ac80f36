// `ouro info`: what this build is and how it will run (threads, BLAS, memory).
#include <cstdio>

#include "cli.h"
#include "ouro/ouro.h"

extern "C" char* openblas_get_config(void);

namespace ouro::cli {

int run_info(int argc, char** argv) {
  const Args args = parse_args("info", argc, argv, {}, 0, 0);
  if (args.help) {
    std::fputs("usage: ouro info\n\nPrints the version, the thread count (OURO_NUM_THREADS), the BLAS build and\n"
               "memory statistics.\n\nexit codes: 0 success, 2 usage error\n", stdout);
    return kExitOk;
  }
  std::printf("ouro 0.1.0\n");
  std::printf("threads: %d (set OURO_NUM_THREADS to change)\n", ouro::num_threads());
  std::printf("blas: %s\n", openblas_get_config());
  const auto stats = ouro::memory_stats();
  std::printf("memory: live %zu bytes, peak %zu bytes, cached %zu bytes\n", stats.live_bytes, stats.peak_bytes,
              stats.cached_bytes);
  return 0;
}

}  // namespace ouro::cli
