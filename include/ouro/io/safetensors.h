// Safetensors files (https://github.com/huggingface/safetensors): ouro writes them atomically
// with deterministic bytes and reads them, its own or anyone's, without trusting a single byte.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// Writes `tensors` (float32 -> F32, float64 -> F64, int64 -> I64; views are saved as contiguous
// copies) and `metadata` to `path` atomically (see io/atomic_file.h). Tensors are laid out in
// name order and the header is padded with spaces so the data section starts 8-byte aligned,
// so the same inputs always give the same bytes. A name that is "__metadata__", or a name or
// metadata string that is not valid UTF-8, throws ouro::Error before anything is written.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads every tensor of a safetensors file. F32, F64 and I64 load as float32, float64, int64;
// F16 and BF16 are widened to float32; BOOL, U8, I8, U16, I16, U32 and I32 to int64. The file
// is memory-mapped read-only and each tensor is copied out, so the returned tensors own their
// memory and the file may be replaced or deleted afterwards. Any malformed header or layout
// throws ouro::Error naming the file and the problem (see read_safetensors_header).
SafetensorsFile load_safetensors(const std::string& path);

// One header entry, as written in the file.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // the file's dtype string: "F32", "BF16", ...
  Shape shape;
  std::uint64_t begin = 0;  // data_offsets, relative to the start of the data section
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  std::uint64_t header_bytes = 0;  // N: the JSON header's length, padding included
  std::uint64_t data_bytes = 0;    // the data section's length
};

// Reads and validates the header of `path` without reading the tensor data: the 8-byte length
// is at most 100 MB and within the file; the header is a JSON object; every entry has a
// string dtype ouro can load, a shape of non-negative integers whose byte size does not
// overflow 64 bits and equals end - begin, and begin <= end; __metadata__ maps strings to
// strings; no name appears twice; and the ranges tile the data section exactly (no overlap,
// no gap, nothing past its end, nothing after the last tensor).
SafetensorsHeader read_safetensors_header(const std::string& path);

// The same two readers over a whole file's bytes already in memory (a download, an archive
// member, a fuzzer's input); `source` names it in errors. Nothing outside `bytes` is read.
SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& source);
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source);

}  // namespace ouro
