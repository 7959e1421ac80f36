// AddressSanitizer support for the few innermost kernels whose whole memory footprint is
// known before they start.
//
// ASan checks every load and store it compiles and UBSan every pointer step, and in a
// register-tiled GEMM micro-kernel those checks keep the loops scalar and call out at each
// element: under `make test-asan` the micro-kernel was 50-80% of every training test's time,
// 30-60x its ordinary cost. Such a kernel is compiled without the per-access checks
// (OURO_FOOTPRINT_CHECKED: no ASan or UBSan instrumentation inside it; it must do no integer
// arithmetic that could overflow, only indexing within its tile) and instead calls
// check_footprint() on each region it will touch, once per call: the same bytes are verified,
// a region at a time, and a bad one gets ASan's ordinary report with the caller's stack.
// Helpers it calls must be [[gnu::always_inline]]: clang does not otherwise inline
// instrumented code into uninstrumented code. Without ASan both are nothing.
#pragma once
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define OURO_KERNELS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OURO_KERNELS_ASAN 1
#endif
#endif

#ifdef OURO_KERNELS_ASAN
#include <sanitizer/asan_interface.h>
#define OURO_FOOTPRINT_CHECKED __attribute__((no_sanitize("address", "undefined")))
// For a tile function that the ordinary build inlines into its (instrumented) caller: under
// ASan it stays a call of its own, uninstrumented.
#define OURO_FOOTPRINT_CHECKED_INLINE __attribute__((no_sanitize("address", "undefined"), noinline))
#else
#define OURO_FOOTPRINT_CHECKED
#define OURO_FOOTPRINT_CHECKED_INLINE __attribute__((always_inline)) inline
#endif

namespace ouro::kernels {

#ifdef OURO_KERNELS_ASAN
// Reads the first poisoned byte of [begin, begin + bytes), if there is one, through an
// instrumented access: ASan then reports it as the overflow or use-after-free it is.
[[gnu::noinline]] inline void check_footprint(const void* begin, std::size_t bytes) {
  if (bytes == 0) return;
  if (void* bad = __asan_region_is_poisoned(const_cast<void*>(begin), bytes))
    (void)*static_cast<const volatile char*>(bad);
}
#else
inline void check_footprint(const void*, std::size_t) {}
#endif

}  // namespace ouro::kernels
