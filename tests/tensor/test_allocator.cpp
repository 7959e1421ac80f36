#include <limits>
#include <new>

#include "gradcheck.h"

#include "sanitized_build.h"
#if OURO_TEST_UNDER_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace ouro::testing {
namespace {

// Whether AddressSanitizer would report an access to `ptr` (always false without it).
bool poisoned(const void* ptr) {
#if OURO_TEST_UNDER_ASAN
  return __asan_address_is_poisoned(ptr) != 0;
#else
  (void)ptr;
  return false;
#endif
}
constexpr bool kAsan =
#if OURO_TEST_UNDER_ASAN
    true;
#else
    false;
#endif

// One "step": forward and backward through a few ops, the way a training step allocates
// activations, temporaries and gradients and frees them all by its end.
void training_like_step(const Tensor& w) {
  Tensor x = Tensor::full({32, 64}, 0.5);
  Tensor h = matmul(x, w);
  Tensor y = mean(mul(add(h, 1.0), h));
  y.backward();
  Tensor scratch = Tensor::empty({1000});
  Tensor other = Tensor::zeros({3, 5, 7}, DType::Float64);
}

TEST(Allocator, SteadyStateReusesBlocks) {
  Tensor w = Tensor::full({64, 48}, 0.01);
  w.set_requires_grad(true);
  for (int i = 0; i < 2; ++i) {  // warm-up fills the cache with every size the step needs
    training_like_step(w);
    w.zero_grad();
  }
  const MemoryStats before = memory_stats();
  for (int i = 0; i < 5; ++i) {
    training_like_step(w);
    w.zero_grad();
  }
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.system_allocations, before.system_allocations);
  EXPECT_GT(after.allocations, before.allocations);  // the blocks were handed out, from the cache
  EXPECT_EQ(after.live_bytes, before.live_bytes);
}

TEST(Allocator, LiveBytesReturnToStart) {
  const std::size_t start = memory_stats().live_bytes;
  {
    Tensor a = Tensor::empty({1000});        // 4000 bytes
    Tensor b = Tensor::empty({100000}, DType::Float64);
    EXPECT_GE(memory_stats().live_bytes, start + 4000 + 800000);
    // Size classes waste at most 25% (and 63 bytes below 4 KiB).
    EXPECT_LE(memory_stats().live_bytes, start + 4032 + 1000000);
    Tensor view = b.as_strided({10}, {1}, 5);  // a view allocates nothing
    EXPECT_LE(memory_stats().live_bytes, start + 4032 + 1000000);
    b = Tensor();
    EXPECT_GE(memory_stats().live_bytes, start + 4000 + 800000);  // the view keeps b's storage
  }
  EXPECT_EQ(memory_stats().live_bytes, start);
}

TEST(Allocator, PeakIsTracked) {
  reset_peak_memory();
  const MemoryStats start = memory_stats();
  EXPECT_EQ(start.peak_bytes, start.live_bytes);
  { Tensor big = Tensor::empty({1 << 20}); }  // 4 MiB, freed at once
  { Tensor small = Tensor::empty({1000}); }
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.live_bytes, start.live_bytes);
  EXPECT_GE(after.peak_bytes, start.live_bytes + (std::size_t{4} << 20));
  EXPECT_LE(after.peak_bytes, start.live_bytes + (std::size_t{5} << 20));
  reset_peak_memory();
  EXPECT_EQ(memory_stats().peak_bytes, start.live_bytes);
}

TEST(Allocator, EmptyCacheReturnsBlocks) {
  { Tensor t = Tensor::empty({12345}); }
  EXPECT_GT(memory_stats().cached_bytes, 0u);
  const std::size_t live = memory_stats().live_bytes;
  empty_memory_cache();
  MemoryStats stats = memory_stats();
  EXPECT_EQ(stats.cached_bytes, 0u);
  EXPECT_EQ(stats.live_bytes, live);
  // With nothing cached the next tensor comes from the system; freed, it is cached again.
  const std::uint64_t system = stats.system_allocations;
  { Tensor t = Tensor::empty({12345}); }
  stats = memory_stats();
  EXPECT_EQ(stats.system_allocations, system + 1);
  EXPECT_GT(stats.cached_bytes, 0u);
  { Tensor t = Tensor::empty({12345}); }
  EXPECT_EQ(memory_stats().system_allocations, system + 1);
}

TEST(Allocator, BlocksAreAligned) {
  for (std::size_t bytes : {1u, 63u, 64u, 100u, 5000u, 70000u}) {
    void* p = allocate_bytes(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << bytes;
    free_bytes(p, bytes);
  }
}

TEST(Allocator, ImpossibleSizesFailWithoutChangingTheStatistics) {
  // Sizes near 2^64 used to loop forever in the size-class search or round to a small block.
  const MemoryStats before = memory_stats();
  for (const std::size_t bytes : {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() - 100,
                                  std::size_t{3} << 62})
    EXPECT_THROW(allocate_bytes(bytes), std::bad_alloc) << bytes;
  EXPECT_EQ(memory_stats().live_bytes, before.live_bytes);
}

// A freed block is reused for the next request of its size class; under AddressSanitizer
// (make test-asan) it is poisoned while cached and, when handed out, beyond the bytes asked
// for, so a read after free or past the end is reported although malloc never saw a free.
TEST(Allocator, ReusedBlocksArePoisonedWhileCachedAndPastTheRequestUnderAsan) {
  char* first = static_cast<char*>(allocate_bytes(100));  // size class 128
  EXPECT_FALSE(poisoned(first));
  EXPECT_FALSE(poisoned(first + 99));
  EXPECT_EQ(poisoned(first + 100), kAsan);
  EXPECT_EQ(poisoned(first + 127), kAsan);
  free_bytes(first, 100);
  EXPECT_EQ(poisoned(first), kAsan);
  EXPECT_EQ(poisoned(first + 99), kAsan);
  char* again = static_cast<char*>(allocate_bytes(120));  // the same class: the cached block
  ASSERT_EQ(again, first);
  EXPECT_FALSE(poisoned(again + 119));
  EXPECT_EQ(poisoned(again + 120), kAsan);
  free_bytes(again, 120);
}

}  // namespace
}  // namespace ouro::testing
