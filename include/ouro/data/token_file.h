// A corpus tokenised once into a binary file that training memory-maps instead of re-tokenising
// the text on every run. Layout (little-endian):
//   bytes 0-7    "OUROTOK1"
//   bytes 8-11   u32 bytes per id: 2 (uint16) when the vocabulary fits, else 4 (uint32)
//   bytes 12-15  u32 zero (reserved)
//   bytes 16-23  u64 vocabulary size (every id is below it)
//   bytes 24-31  u64 number of ids
//   bytes 32-    the ids
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ouro {

// Writes atomically (temporary file, then rename). Throws if an id is outside [0, vocab_size).
void write_token_file(const std::string& path, const std::vector<std::int64_t>& ids, std::int64_t vocab_size);

class TokenFile {
 public:
  // Maps the file read-only; checks the magic, the id width, and that the length matches the
  // count, naming the file and what is wrong.
  explicit TokenFile(const std::string& path);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  std::int64_t size() const { return count_; }
  std::int64_t vocab_size() const { return vocab_size_; }
  int bytes_per_id() const { return width_; }
  std::int64_t operator[](std::int64_t i) const;
  // Copies ids [start, start + length) into out (bounds-checked).
  void read(std::int64_t start, std::int64_t length, std::int64_t* out) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* map_ = nullptr;
  std::size_t map_size_ = 0;
  int width_ = 2;
  std::int64_t vocab_size_ = 0, count_ = 0;
};

}  // namespace ouro
