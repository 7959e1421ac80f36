// Atomic file replacement: a reader of `path` sees either the old file or the complete new one,
// never a partial write, and a failed write leaves the old file as it was.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ouro {

// Where write_file_atomically's callback puts the bytes. Writes are buffered; every failure
// throws ouro::Error naming the target path and strerror(errno).
class FileSink {
 public:
  void write(const void* data, std::size_t bytes);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  std::uint64_t bytes_written() const { return written_; }

  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

 private:
  friend void write_file_atomically(const std::string& path, const std::function<void(FileSink&)>& fill);
  FileSink(int fd, const std::string& path, const std::string& temp_path);
  void flush();
  void write_all(const char* data, std::size_t bytes);

  int fd_;
  const std::string& path_;
  const std::string& temp_path_;
  std::vector<char> buffer_;
  std::uint64_t written_ = 0;
};

// Writes a temporary file beside `path` (path + ".tmp.<pid>.<n>", so the rename stays within
// one filesystem), lets `fill` write the contents, fsyncs it, renames it over `path` and fsyncs
// the directory so the rename itself survives a crash. If opening, writing (short write,
// ENOSPC, EFBIG), syncing or renaming fails, or `fill` throws, the temporary file is removed,
// `path` is left untouched and ouro::Error (or fill's exception) propagates.
// For fault tests, the environment variable OURO_TEST_ATOMIC_WRITE_DELAY_MS=N adds a pause of
// N ms between writing the temporary file and renaming it.
void write_file_atomically(const std::string& path, const std::function<void(FileSink&)>& fill);

// The same, for contents already in memory.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace ouro
