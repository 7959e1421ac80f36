// What the register-tiled CPU kernels (small_gemm, attention, recurrent) share: the tile
// shape of their micro-kernels and the fused multiply-add they accumulate with.
#pragma once
#include <cmath>

namespace ouro::kernels {

// An MR x NR tile of C lives in a local array that GCC keeps in vector registers (the NR loop
// is the vector loop). Sizes from bench/bench_small_gemm.cpp (-O3 -march=native, GCC 12):
// GCC vectorises the NR loop with zmm registers, so float 8 x 32 and double 8 x 16 hold 16
// accumulators of the 32 AVX-512 gives; 8 x 32 beat 6 x 32, 12 x 32, 8 x 16 and 4 x 64 on
// most of the workloads' shapes.
template <typename T>
struct Tiles;
template <>
struct Tiles<float> {
  static constexpr int mr = 8, nr = 32;
};
template <>
struct Tiles<double> {
  static constexpr int mr = 8, nr = 16;
};

// Explicit FMAs where the target has them: the build is ISO C++, so GCC never contracts
// a * b + c on its own, and the fused form is both faster and rounded once. Either way the
// result depends only on the shape, not on scheduling. Always inlined: the GEMM micro-kernel
// is built without sanitizer instrumentation (sanitizer_footprint.h), and clang inlines an
// instrumented function into it only when told to.
template <typename T>
[[gnu::always_inline]] inline T multiply_add(T a, T b, T c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

}  // namespace ouro::kernels
