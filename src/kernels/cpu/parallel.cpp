#include "ouro/kernels/cpu/parallel.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "ouro/core/error.h"

extern "C" void openblas_set_num_threads(int);

namespace ouro {
namespace {

int blas_threads = -1;  // what OpenBLAS was last told; -1 before the first call

int initial_threads() {
  int threads = omp_get_num_procs();
  if (const char* env = std::getenv("OURO_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || value < 1 || value > 4096)
      throw Error(std::string("OURO_NUM_THREADS: expected an integer in [1, 4096], got '") + env + "'");
    threads = static_cast<int>(value);
  }
  omp_set_num_threads(threads);
  kernels::set_blas_threads(threads);
  return threads;
}

int& thread_setting() {
  static int threads = initial_threads();
  return threads;
}

}  // namespace

int num_threads() { return thread_setting(); }

void kernels::set_blas_threads(int threads) {
  if (threads == blas_threads) return;
  openblas_set_num_threads(threads);
  blas_threads = threads;
}

void set_num_threads(int threads) {
  OURO_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
  thread_setting() = threads;
  omp_set_num_threads(threads);
  kernels::set_blas_threads(threads);
}

}  // namespace ouro
