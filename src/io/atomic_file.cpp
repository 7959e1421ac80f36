#include "ouro/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ouro/core/error.h"

namespace ouro {
namespace {

// Small writes (a JSON header, many tiny tensors) are gathered so they cost one syscall;
// anything at least this large goes straight to write(2) without a copy.
constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

std::string errno_text(int err) { return std::strerror(err); }

std::string temp_path_for(const std::string& path) {
  // The counter keeps two threads of one process that save the same path apart; the pid keeps
  // processes apart. O_EXCL below turns any remaining clash into an error, not a shared file.
  static std::atomic<std::uint64_t> counter{0};
  return detail::concat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
}

std::string directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

int fsync_retrying(int fd) {
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

// Owns the temporary file until it has been renamed: closes and unlinks it on every exit
// path that did not reach the rename.
struct TempFile {
  std::string path;
  int fd = -1;
  bool renamed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed) ::unlink(path.c_str());
  }
};

// OURO_TEST_ATOMIC_WRITE_DELAY_MS=N (tests only): sleep N ms after the contents are written and
// before the rename, so that a test's kill -9 can land while a checkpoint is half done.
void pause_for_fault_tests() {
  static const long delay_ms = [] {
    const char* text = std::getenv("OURO_TEST_ATOMIC_WRITE_DELAY_MS");
    return text ? std::strtol(text, nullptr, 10) : 0L;
  }();
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

}  // namespace

FileSink::FileSink(int fd, const std::string& path, const std::string& temp_path)
    : fd_(fd), path_(path), temp_path_(temp_path) {
  buffer_.reserve(kBufferBytes);
}

void FileSink::write_all(const char* data, std::size_t bytes) {
  while (bytes > 0) {
    const ::ssize_t n = ::write(fd_, data, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(detail::concat("write_file_atomically: cannot write ", path_, " (temporary file ", temp_path_,
                                 ", after ", written_, " bytes): ", errno_text(errno)));
    }
    // A short write is not an error by itself (the next call reports why, e.g. EFBIG or
    // ENOSPC); a write that makes no progress would loop forever, so it is one.
    OURO_CHECK(n > 0, "write_file_atomically: cannot write ", path_, " (temporary file ", temp_path_,
               "): write() wrote 0 of ", bytes, " bytes");
    data += n;
    bytes -= static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
}

void FileSink::flush() {
  if (buffer_.empty()) return;
  write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void FileSink::write(const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  if (bytes >= kBufferBytes) {
    flush();
    write_all(p, bytes);
    return;
  }
  if (buffer_.size() + bytes > kBufferBytes) flush();
  buffer_.insert(buffer_.end(), p, p + bytes);
}

void write_file_atomically(const std::string& path, const std::function<void(FileSink&)>& fill) {
  OURO_CHECK(!path.empty(), "write_file_atomically: expected a file path, got an empty string");
  TempFile temp;
  temp.path = temp_path_for(path);
  temp.fd = ::open(temp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (temp.fd < 0) {
    const int err = errno;
    temp.renamed = true;  // nothing was created, so there is nothing to unlink
    throw Error(detail::concat("write_file_atomically: cannot create temporary file ", temp.path, " for ", path, ": ",
                               errno_text(err)));
  }
  {
    FileSink sink(temp.fd, path, temp.path);
    fill(sink);
    sink.flush();
  }
  pause_for_fault_tests();
  // Without the fsync, a crash soon after the rename can leave `path` naming an empty or
  // partly written file on filesystems that reorder data and metadata writes (ext4 without
  // auto_da_alloc, xfs).
  if (fsync_retrying(temp.fd) != 0)
    throw Error(detail::concat("write_file_atomically: cannot fsync ", temp.path, " for ", path, ": ",
                               errno_text(errno)));
  const int fd = temp.fd;
  temp.fd = -1;
  // close() can report a deferred write error (NFS); the data is not safe if it does.
  if (::close(fd) != 0)
    throw Error(detail::concat("write_file_atomically: cannot close ", temp.path, " for ", path, ": ",
                               errno_text(errno)));
  if (::rename(temp.path.c_str(), path.c_str()) != 0)
    throw Error(detail::concat("write_file_atomically: cannot rename ", temp.path, " to ", path, ": ",
                               errno_text(errno)));
  temp.renamed = true;

  // The rename is durable only once the directory entry is on disk.
  const std::string dir = directory_of(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    throw Error(detail::concat("write_file_atomically: ", path, " was written, but its directory ", dir,
                               " cannot be opened to sync the rename: ", errno_text(errno)));
  const int rc = fsync_retrying(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  // Some filesystems cannot fsync a directory at all (EINVAL); there is nothing more to do there.
  if (rc != 0 && err != EINVAL)
    throw Error(detail::concat("write_file_atomically: ", path, " was written, but syncing its directory ", dir,
                               " failed: ", errno_text(err)));
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, [bytes](FileSink& sink) { sink.write(bytes); });
}

}  // namespace ouro
