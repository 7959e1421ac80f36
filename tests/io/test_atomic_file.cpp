#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gradcheck.h"
#include "ouro/io/atomic_file.h"

namespace ouro::testing {
namespace {

// A fresh directory unique to the running test.
std::string fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = ::testing::TempDir() + "ouro_atomic_" + info->test_suite_name() + "_" + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, WritesBytesAndLeavesNoTemporaryFile) {
  const std::string dir = fresh_dir();
  const std::string path = dir + "/out.bin";
  write_file_atomically(path, std::string_view("first"));
  EXPECT_EQ(read_bytes(path), "first");
  // Small writes are buffered and a large one bypasses the buffer; the order must survive both.
  const std::string big(3 << 20, 'b');
  write_file_atomically(path, [&](FileSink& sink) {
    sink.write("a");
    sink.write(big);
    sink.write(std::string_view("c"));
    EXPECT_EQ(sink.bytes_written() + 1, 1 + big.size() + 1);  // "c" still buffered
  });
  EXPECT_EQ(read_bytes(path), "a" + big + "c");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, RelativePathInCurrentDirectory) {
  const std::string dir = fresh_dir();
  const auto saved = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  write_file_atomically("here.txt", std::string_view("x"));
  std::filesystem::current_path(saved);
  EXPECT_EQ(read_bytes(dir + "/here.txt"), "x");
}

TEST(AtomicFile, MissingDirectoryNamesPathAndStrerror) {
  const std::string path = fresh_dir() + "/missing/out.bin";
  expect_error([&] { write_file_atomically(path, std::string_view("x")); },
               {"write_file_atomically", path, "No such file or directory"});
}

TEST(AtomicFile, ThrowingFillKeepsOldFileAndRemovesTemporary) {
  const std::string dir = fresh_dir();
  const std::string path = dir + "/out.bin";
  write_file_atomically(path, std::string_view("old"));
  EXPECT_THROW(write_file_atomically(path,
                                     [](FileSink& sink) {
                                       sink.write(std::string(2 << 20, 'n'));
                                       throw Error("fill failed");
                                     }),
               Error);
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, RenameOntoDirectoryFailsCleanly) {
  const std::string dir = fresh_dir();
  const std::string target = dir + "/taken";
  std::filesystem::create_directories(target + "/inside");
  expect_error([&] { write_file_atomically(target, std::string_view("x")); },
               {"cannot rename", target, std::strerror(EISDIR)});
  EXPECT_EQ(entries(dir), std::vector<std::string>{"taken"});
}

TEST(AtomicFile, ReadOnlyDirectoryFailsCleanly) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "running as root, which may create files in a read-only directory; "
                    "FileTooLargeKeepsOldFile covers the failure path instead";
  const std::string dir = fresh_dir();
  const std::string path = dir + "/out.bin";
  write_file_atomically(path, std::string_view("old"));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  expect_error([&] { write_file_atomically(path, std::string_view("new")); },
               {"cannot create temporary file", path, std::strerror(EACCES)});
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  EXPECT_EQ(read_bytes(path), "old");
}

// EFBIG from RLIMIT_FSIZE stands in for ENOSPC: both are a write() that fails part-way, and
// root cannot bypass it. Runs in a child so the limit stays out of the test runner.
TEST(AtomicFile, FileTooLargeKeepsOldFile) {
  const std::string dir = fresh_dir();
  const std::string path = dir + "/out.bin";
  write_file_atomically(path, std::string_view("old"));
  const ::pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      write_file_atomically(path, std::string(1 << 16, 'n'));
    } catch (const Error& e) {
      const std::string message = e.what();
      const bool named = message.find(path) != std::string::npos && message.find(std::strerror(EFBIG)) != std::string::npos;
      ::_exit(named ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error thrown; 2: message lacks the path or strerror(EFBIG)";
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(entries(dir), std::vector<std::string>{"out.bin"});
}

}  // namespace
}  // namespace ouro::testing
