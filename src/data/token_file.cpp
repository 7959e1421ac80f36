#include "ouro/data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "ouro/core/error.h"
#include "ouro/io/atomic_file.h"

namespace ouro {

namespace {
constexpr char kMagic[8] = {'O', 'U', 'R', 'O', 'T', 'O', 'K', '1'};
constexpr std::size_t kHeaderBytes = 32;

template <typename T>
void put(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xFF);
}

std::uint64_t get(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

void write_token_file(const std::string& path, const std::vector<std::int64_t>& ids, std::int64_t vocab_size) {
  OURO_CHECK(vocab_size > 0 && vocab_size <= (std::int64_t{1} << 32), "token file '", path,
             "': vocabulary size must be in [1, 2^32], got ", vocab_size);
  const int width = vocab_size <= 65536 ? 2 : 4;
  std::string bytes(kMagic, sizeof(kMagic));
  put<std::uint32_t>(bytes, static_cast<std::uint32_t>(width));
  put<std::uint32_t>(bytes, 0);
  put<std::uint64_t>(bytes, static_cast<std::uint64_t>(vocab_size));
  put<std::uint64_t>(bytes, ids.size());
  bytes.reserve(bytes.size() + ids.size() * static_cast<std::size_t>(width));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    OURO_CHECK(ids[i] >= 0 && ids[i] < vocab_size, "token file '", path, "': id ", ids[i], " at position ", i,
               " is outside the vocabulary [0, ", vocab_size, ")");
    if (width == 2) put<std::uint16_t>(bytes, static_cast<std::uint16_t>(ids[i]));
    else put<std::uint32_t>(bytes, static_cast<std::uint32_t>(ids[i]));
  }
  write_file_atomically(path, bytes);
}

TokenFile::TokenFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  OURO_CHECK(fd >= 0, "token file '", path, "': cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error("token file '" + path + "': cannot stat");
  }
  map_size_ = static_cast<std::size_t>(st.st_size);
  if (map_size_ < kHeaderBytes) {
    ::close(fd);
    throw Error("token file '" + path + "': " + std::to_string(map_size_) +
                " bytes is shorter than the 32-byte header; not a token file");
  }
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  OURO_CHECK(m != MAP_FAILED, "token file '", path, "': mmap failed (", std::strerror(errno), ")");
  map_ = static_cast<const unsigned char*>(m);
  try {
    OURO_CHECK(std::memcmp(map_, kMagic, sizeof(kMagic)) == 0, "token file '", path,
               "': does not start with \"OUROTOK1\"; not a token file");
    width_ = static_cast<int>(get(map_ + 8, 4));
    OURO_CHECK(width_ == 2 || width_ == 4, "token file '", path, "': id width ", width_, " bytes; expected 2 or 4");
    vocab_size_ = static_cast<std::int64_t>(get(map_ + 16, 8));
    const std::uint64_t count = get(map_ + 24, 8);
    OURO_CHECK(count <= (map_size_ - kHeaderBytes) / static_cast<std::size_t>(width_) &&
                   kHeaderBytes + count * static_cast<std::uint64_t>(width_) == map_size_,
               "token file '", path, "': the header promises ", count, " ids of ", width_, " bytes but the file has ",
               map_size_ - kHeaderBytes, " bytes of ids (truncated or corrupt)");
    count_ = static_cast<std::int64_t>(count);
    OURO_CHECK(vocab_size_ > 0, "token file '", path, "': vocabulary size is 0");
  } catch (...) {
    ::munmap(const_cast<unsigned char*>(map_), map_size_);
    map_ = nullptr;
    throw;
  }
}

TokenFile::~TokenFile() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

std::int64_t TokenFile::operator[](std::int64_t i) const {
  OURO_CHECK(i >= 0 && i < count_, "token file '", path_, "': position ", i, " is outside [0, ", count_, ")");
  const std::int64_t id = static_cast<std::int64_t>(get(map_ + kHeaderBytes + static_cast<std::size_t>(i) * width_, width_));
  OURO_CHECK(id < vocab_size_, "token file '", path_, "': id ", id, " at position ", i,
             " is outside the vocabulary [0, ", vocab_size_, ")");
  return id;
}

void TokenFile::read(std::int64_t start, std::int64_t length, std::int64_t* out) const {
  OURO_CHECK(start >= 0 && length >= 0 && start <= count_ - length, "token file '", path_, "': range [", start, ", ",
             start + length, ") is outside [0, ", count_, ")");
  for (std::int64_t k = 0; k < length; ++k) out[k] = (*this)[start + k];
}

}  // namespace ouro
