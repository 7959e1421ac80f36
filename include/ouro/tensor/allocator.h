// The caching allocator: tensor memory is recycled by size class, so a training step in
// steady state reuses the blocks of the step before it instead of calling malloc.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ouro {

struct MemoryStats {
  std::size_t live_bytes = 0;      // handed out to tensors now (rounded to the size class)
  std::size_t peak_bytes = 0;      // the most live_bytes has been since the last reset_peak
  std::size_t cached_bytes = 0;    // freed by tensors, kept for reuse
  std::uint64_t system_allocations = 0;  // blocks obtained from the system allocator, ever
  std::uint64_t allocations = 0;         // blocks handed to tensors, ever (cache hits included)
};

// 64-byte aligned, at least `bytes` long. Thread-safe.
void* allocate_bytes(std::size_t bytes);
void free_bytes(void* ptr, std::size_t bytes);

MemoryStats memory_stats();
void reset_peak_memory();
// Returns cached blocks to the system.
void empty_memory_cache();

}  // namespace ouro
