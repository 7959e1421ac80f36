#include "ouro/tensor/allocator.h"

#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

// Under AddressSanitizer the cache would hide from it exactly the bugs it exists to find: a
// tensor read after its storage went back to the cache, or past its end into the size class's
// slack, touches memory malloc still counts as ours. So cached blocks and the slack behind
// every live block are poisoned, and such an access is reported as it would be with malloc.
#if defined(__SANITIZE_ADDRESS__)
#define OURO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OURO_ASAN 1
#endif
#endif
#ifdef OURO_ASAN
#include <sanitizer/asan_interface.h>
#define OURO_POISON(ptr, bytes) ASAN_POISON_MEMORY_REGION(ptr, bytes)
#define OURO_UNPOISON(ptr, bytes) ASAN_UNPOISON_MEMORY_REGION(ptr, bytes)
#else
#define OURO_POISON(ptr, bytes) ((void)(ptr), (void)(bytes))
#define OURO_UNPOISON(ptr, bytes) ((void)(ptr), (void)(bytes))
#endif

namespace ouro {
namespace {

constexpr std::size_t kAlignment = 64;

// Size classes: multiples of 64 bytes up to 4 KiB, then four classes per power of two,
// which bounds the waste at 25% while keeping the number of free lists small.
std::size_t size_class(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= 4096) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::size_t power = 4096;
  // Stops below the top bit so that power * 2 cannot wrap to 0 (which would loop forever).
  while (power * 2 < bytes && power < (std::numeric_limits<std::size_t>::max() >> 2)) power *= 2;
  const std::size_t step = power / 4;
  return (bytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_lists;
  MemoryStats stats;
};

// A block of `size` bytes handed out for `bytes`: usable up to `bytes`, poisoned after.
void* hand_out(void* ptr, std::size_t bytes, std::size_t size) {
  OURO_UNPOISON(ptr, bytes);
  OURO_POISON(static_cast<char*>(ptr) + bytes, size - bytes);
  return ptr;
}

Cache& cache() {
  // Never destroyed: tensors in static storage may be freed after main returns.
  static Cache* instance = new Cache();
  return *instance;
}

}  // namespace

void* allocate_bytes(std::size_t bytes) {
  // Past PTRDIFF_MAX no allocation can succeed, and rounding up to a size class could wrap
  // around to a small block.
  if (bytes > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) throw std::bad_alloc();
  const std::size_t size = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    ++c.stats.allocations;
    c.stats.live_bytes += size;
    if (c.stats.live_bytes > c.stats.peak_bytes) c.stats.peak_bytes = c.stats.live_bytes;
    auto it = c.free_lists.find(size);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= size;
      return hand_out(ptr, bytes, size);
    }
    ++c.stats.system_allocations;
  }
  void* ptr = std::aligned_alloc(kAlignment, size);
  if (ptr == nullptr) {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.live_bytes -= size;
    throw std::bad_alloc();
  }
  return hand_out(ptr, bytes, size);
}

void free_bytes(void* ptr, std::size_t bytes) {
  if (ptr == nullptr) return;
  const std::size_t size = size_class(bytes);
  Cache& c = cache();
  OURO_POISON(ptr, size);
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.live_bytes -= size;
  c.stats.cached_bytes += size;
  c.free_lists[size].push_back(ptr);
}

MemoryStats memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void reset_peak_memory() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.peak_bytes = c.stats.live_bytes;
}

void empty_memory_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [size, list] : c.free_lists)
    for (void* ptr : list) {
      OURO_UNPOISON(ptr, size);
      std::free(ptr);
    }
  c.free_lists.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace ouro
