// Fuzzes read_text_file, the path every CSV and series file is read through: plain text, or
// gzip data that zlib decompresses (gzread), with truncated or corrupt streams reported at
// close. The input becomes the content of an in-memory file (memfd) that the reader opens by
// its /proc path like any file; what it returns must be the input itself when that is not
// gzip data, and the CSV parser then reads it.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fuzz_input.h"
#include "ouro/data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  const int fd = ::memfd_create("fuzz_gzip_text", 0);
  if (fd < 0) fuzz::property_failed("memfd_create failed");
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) fuzz::property_failed("writing the memfd failed");
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const bool gzip_magic = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  fuzz::expect_error_or_success([&] {
    const std::string text = read_text_file(path);
    if (!gzip_magic && text != fuzz::as_text(data, size)) fuzz::property_failed("plain text did not read back as itself");
    fuzz::expect_error_or_success([&] { (void)parse_numeric_csv(text, path, 1); });
  });
  ::close(fd);
  return 0;
}
