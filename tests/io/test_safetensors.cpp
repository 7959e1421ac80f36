#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>

#include "gradcheck.h"
#include "ouro/io/safetensors.h"
#include "ouro/ops/shape_ops.h"

namespace ouro::testing {
namespace {

// A path unique to the running test, so ctest may run the cases in parallel.
std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "ouro_st_" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file laid out by hand: the 8-byte length (the header's own size unless overridden), the
// header text, then the data section.
std::string craft(const std::string& name, const std::string& header, const std::string& data = "",
                  std::optional<std::uint64_t> length = std::nullopt) {
  const std::string path = temp_path(name);
  const std::uint64_t n = length.value_or(header.size());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header << data;
  return path;
}

// Loading and header-only reading must reject a bad file alike, with the file named first.
void expect_rejected(const std::string& path, std::vector<std::string> fragments) {
  fragments.insert(fragments.begin(), "safetensors: " + path + ": ");
  expect_error([&] { load_safetensors(path); }, fragments);
  expect_error([&] { read_safetensors_header(path); }, fragments);
  // The in-memory readers check the same things in the same words (a missing file aside).
  if (std::filesystem::exists(path)) {
    const std::string bytes = read_bytes(path);
    expect_error([&] { parse_safetensors(bytes, path); }, fragments);
    expect_error([&] { parse_safetensors_header(bytes, path); }, fragments);
  }
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

// ---------------------------------------------------------------- round trips

TEST(Safetensors, RoundTripsEveryDtypeBitForBit) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> f32 = {0.f, -0.f, 1.5f, -3.25e-38f, 1e-45f, 3.4e38f, inf, -inf};
  const std::vector<double> f64 = {0.1, -0.0, 1e-310, 1.7976931348623157e308, -std::numeric_limits<double>::infinity()};
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                         std::numeric_limits<std::int64_t>::max(), (std::int64_t{1} << 53) + 1, 42};
  const std::map<std::string, Tensor> tensors = {
      {"a.f32", Tensor::from_vector(f32, {2, 4})},
      {"b.f64", Tensor::from_vector(f64, {5}, DType::Float64)},
      {"c.i64", Tensor::from_indices(i64, {3, 1, 2})},
      {"d.nan", Tensor::from_vector(std::vector<float>{std::nanf("")}, {1})},
  };
  const std::string path = temp_path("all.safetensors");
  save_safetensors(path, tensors);
  const SafetensorsFile file = load_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_TRUE(file.metadata.empty());
  const Tensor& a = file.tensors.at("a.f32");
  EXPECT_EQ(a.dtype(), DType::Float32);
  EXPECT_EQ(a.shape(), (Shape{2, 4}));
  // Compared as bits: -0 and +0 differ, and float == would hide that.
  for (std::size_t i = 0; i < f32.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint32_t>(values_of<float>(a)[i]), std::bit_cast<std::uint32_t>(f32[i])) << i;
  const Tensor& b = file.tensors.at("b.f64");
  EXPECT_EQ(b.dtype(), DType::Float64);
  for (std::size_t i = 0; i < f64.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(values_of<double>(b)[i]), std::bit_cast<std::uint64_t>(f64[i])) << i;
  const Tensor& c = file.tensors.at("c.i64");
  EXPECT_EQ(c.dtype(), DType::Int64);
  EXPECT_EQ(c.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(values_of<std::int64_t>(c), i64);
  EXPECT_TRUE(std::isnan(file.tensors.at("d.nan").item()));
}

TEST(Safetensors, ParsesAFileInMemoryLikeTheFileOnDisk) {
  const std::map<std::string, Tensor> tensors = {
      {"w", Tensor::from_vector(std::vector<float>{1.5f, -2.f, 0.25f}, {3, 1})},
      {"i", Tensor::from_indices(std::vector<std::int64_t>{7, -8}, {2})},
  };
  const std::string path = temp_path("memory.safetensors");
  save_safetensors(path, tensors, {{"k", "v"}});
  const std::string bytes = read_bytes(path);
  const SafetensorsFile from_disk = load_safetensors(path);
  const SafetensorsFile in_memory = parse_safetensors(bytes, "in memory");
  EXPECT_EQ(in_memory.metadata, from_disk.metadata);
  ASSERT_EQ(in_memory.tensors.size(), 2u);
  EXPECT_EQ(values_of<float>(in_memory.tensors.at("w")), values_of<float>(from_disk.tensors.at("w")));
  EXPECT_EQ(in_memory.tensors.at("w").shape(), (Shape{3, 1}));
  EXPECT_EQ(values_of<std::int64_t>(in_memory.tensors.at("i")), (std::vector<std::int64_t>{7, -8}));
  const SafetensorsHeader header = parse_safetensors_header(bytes, "in memory");
  EXPECT_EQ(header.header_bytes, read_safetensors_header(path).header_bytes);
  EXPECT_EQ(header.data_bytes, 3u * 4 + 2u * 8);
  // The name given is the one errors use.
  expect_error([&] { parse_safetensors(bytes.substr(0, bytes.size() - 1), "download.bin"); },
               {"safetensors: download.bin: ", "run past the end of the data section"});
}

TEST(Safetensors, RoundTripsScalarsAndEmptyTensors) {
  const std::string path = temp_path("shapes.safetensors");
  save_safetensors(path, {{"scalar", Tensor::scalar(-2.5, DType::Float64)},
                          {"scalar_i", Tensor::from_indices({7}, {})},
                          {"empty", Tensor::zeros({0})},
                          {"empty3d", Tensor::zeros({3, 0, 2}, DType::Int64)},
                          {"after", Tensor::from_vector(std::vector<float>{1, 2}, {2})}});
  const SafetensorsFile file = load_safetensors(path);
  EXPECT_EQ(file.tensors.at("scalar").shape(), Shape{});
  EXPECT_EQ(file.tensors.at("scalar").item(), -2.5);
  EXPECT_EQ(file.tensors.at("scalar_i").shape(), Shape{});
  EXPECT_EQ(file.tensors.at("scalar_i").to_index_vector(), std::vector<std::int64_t>{7});
  EXPECT_EQ(file.tensors.at("empty").shape(), Shape{0});
  EXPECT_EQ(file.tensors.at("empty").dtype(), DType::Float32);
  EXPECT_EQ(file.tensors.at("empty3d").shape(), (Shape{3, 0, 2}));
  EXPECT_EQ(file.tensors.at("empty3d").dtype(), DType::Int64);
  EXPECT_EQ(file.tensors.at("after").to_float_vector(), (std::vector<float>{1, 2}));
}

TEST(Safetensors, SavesViewsAsTheirLogicalContents) {
  Tensor base = Tensor::arange(12, DType::Float64);
  const std::map<std::string, Tensor> views = {
      {"transposed", base.as_strided({4, 3}, {1, 4}, 0)},
      {"strided", base.as_strided({5}, {2}, 1)},
      {"broadcast", base.as_strided({3, 2}, {0, 1}, 10)},
      {"offset_contiguous", base.as_strided({2, 2}, {2, 1}, 6)},
      {"sliced", slice(Tensor::arange(10, DType::Int64), 0, 2, 9, 3)},
  };
  const std::string path = temp_path("views.safetensors");
  save_safetensors(path, views);
  const SafetensorsFile file = load_safetensors(path);
  for (const auto& [name, view] : views) {
    const Tensor& got = file.tensors.at(name);
    EXPECT_EQ(got.shape(), view.shape()) << name;
    EXPECT_EQ(got.dtype(), view.dtype()) << name;
    EXPECT_EQ(got.to_vector(), view.to_vector()) << name;
  }
  EXPECT_EQ(file.tensors.at("transposed").to_vector(), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(file.tensors.at("sliced").to_index_vector(), (std::vector<std::int64_t>{2, 5, 8}));
  // Each view is stored as its own elements (12 + 5 + 6 + 4 + 3), not as its whole storage.
  EXPECT_EQ(read_safetensors_header(path).data_bytes, (12u + 5 + 6 + 4 + 3) * 8);
}

TEST(Safetensors, PreservesMetadata) {
  const std::map<std::string, std::string> metadata = {
      {"config", R"({"model": {"layers": 2}, "lr": 3e-4})"},
      {"empty", ""},
      {"unicode", "ünïcode ✓ \xF0\x9F\x98\x80"},
      {"quotes\"and\\slashes", "line1\nline2\t\"q\""},
  };
  const std::string path = temp_path("meta.safetensors");
  save_safetensors(path, {{"w", Tensor::ones({2})}}, metadata);
  EXPECT_EQ(load_safetensors(path).metadata, metadata);
  EXPECT_EQ(read_safetensors_header(path).metadata, metadata);
  // Metadata alone, no tensors: still a valid file.
  save_safetensors(path, {}, metadata);
  const SafetensorsFile only = load_safetensors(path);
  EXPECT_TRUE(only.tensors.empty());
  EXPECT_EQ(only.metadata, metadata);
}

TEST(Safetensors, WritesDeterministicAlignedNameOrderedBytes) {
  // The exact bytes of a tiny file, so a change in layout is a deliberate one.
  const std::string tiny = temp_path("tiny.safetensors");
  save_safetensors(tiny, {{"a", Tensor::from_vector(std::vector<float>{1.0f}, {1})}});
  const std::string header = R"({"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}})";
  ASSERT_EQ(header.size(), 54u);  // padded with 2 spaces: 8 + 56 is a multiple of 8
  const std::string expected = std::string("\x38\0\0\0\0\0\0\0", 8) + header + "  " + std::string("\0\0\x80\x3f", 4);
  EXPECT_EQ(read_bytes(tiny), expected);

  Generator gen(5);
  std::map<std::string, Tensor> tensors;
  for (const char* name : {"z", "m.weight", "a.bias", "B", "m.bias"})
    tensors[name] = rand({3, 5}, -1.0, 1.0, DType::Float32, &gen);
  tensors["odd"] = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});  // 12 bytes: offsets after it not 8-aligned
  const std::string first = temp_path("first.safetensors"), second = temp_path("second.safetensors");
  save_safetensors(first, tensors, {{"k", "v"}});
  save_safetensors(second, tensors, {{"k", "v"}});
  const std::string bytes = read_bytes(first);
  EXPECT_EQ(bytes, read_bytes(second));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u) << "data section must start 8-byte aligned";
  EXPECT_EQ(bytes[8], '{');

  const SafetensorsHeader h = read_safetensors_header(first);
  EXPECT_EQ(h.header_bytes, n);
  ASSERT_EQ(h.tensors.size(), tensors.size());
  std::uint64_t offset = 0;
  for (const SafetensorsEntry& e : h.tensors) {  // sorted by name, and laid out in that order
    EXPECT_EQ(e.begin, offset) << e.name;
    offset = e.end;
  }
  EXPECT_EQ(offset, h.data_bytes);
  EXPECT_EQ(h.tensors.front().name, "B");
  EXPECT_EQ(h.tensors.front().dtype, "F32");
  EXPECT_EQ(h.tensors.front().shape, (Shape{3, 5}));
}

TEST(Safetensors, HeaderReaderDoesNotNeedTheData) {
  const std::string path = temp_path("h.safetensors");
  save_safetensors(path, {{"w", Tensor::zeros({4, 4}, DType::Float64)}, {"ids", Tensor::from_indices({1, 2}, {2})}},
                   {{"step", "10"}});
  const SafetensorsHeader h = read_safetensors_header(path);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "ids");
  EXPECT_EQ(h.tensors[0].dtype, "I64");
  EXPECT_EQ(h.tensors[0].shape, Shape{2});
  EXPECT_EQ(h.tensors[1].name, "w");
  EXPECT_EQ(h.tensors[1].dtype, "F64");
  EXPECT_EQ(h.tensors[1].begin, 16u);
  EXPECT_EQ(h.tensors[1].end, 16u + 128);
  EXPECT_EQ(h.metadata.at("step"), "10");
  EXPECT_EQ(h.data_bytes, 144u);
}

TEST(Safetensors, LoadedTensorsOwnTheirMemory) {
  const std::string path = temp_path("own.safetensors");
  save_safetensors(path, {{"w", Tensor::full({1000}, 3.0)}});
  SafetensorsFile file = load_safetensors(path);
  std::filesystem::remove(path);
  save_safetensors(path, {{"w", Tensor::full({1000}, -1.0)}});  // same path, different bytes
  EXPECT_EQ(file.tensors.at("w").to_vector(), std::vector<double>(1000, 3.0));
}

// ---------------------------------------------------------------- foreign dtypes

TEST(Safetensors, WidensSmallIntegerDtypesToInt64) {
  std::string data;
  const auto put = [&data](const auto& v) { data.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(std::int8_t{-128});
  put(std::int8_t{127});           // I8 [0, 2)
  put(std::uint16_t{65535});       // U16 [2, 4)
  put(std::int16_t{-32768});       // I16 [4, 6)
  put(std::uint32_t{4294967295u});  // U32 [6, 10): unaligned on purpose
  put(std::int32_t{-7});           // I32 [10, 14)
  put(std::uint8_t{0});
  put(std::uint8_t{1});
  put(std::uint8_t{2});            // BOOL [14, 17): any non-zero byte is true
  put(std::uint8_t{200});          // U8 [17, 18)
  const std::string header =
      R"({"i8":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"u16":{"dtype":"U16","shape":[1],"data_offsets":[2,4]},)"
      R"("i16":{"dtype":"I16","shape":[1],"data_offsets":[4,6]},"u32":{"dtype":"U32","shape":[],"data_offsets":[6,10]},)"
      R"("i32":{"dtype":"I32","shape":[1,1],"data_offsets":[10,14]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[14,17]},)"
      R"("u8":{"dtype":"U8","shape":[1],"data_offsets":[17,18]}})";
  const SafetensorsFile f = load_safetensors(craft("ints.safetensors", header, data));
  for (const auto& [name, t] : f.tensors) EXPECT_EQ(t.dtype(), DType::Int64) << name;
  EXPECT_EQ(f.tensors.at("i8").to_index_vector(), (std::vector<std::int64_t>{-128, 127}));
  EXPECT_EQ(f.tensors.at("u16").to_index_vector(), (std::vector<std::int64_t>{65535}));
  EXPECT_EQ(f.tensors.at("i16").to_index_vector(), (std::vector<std::int64_t>{-32768}));
  EXPECT_EQ(f.tensors.at("u32").to_index_vector(), (std::vector<std::int64_t>{4294967295}));
  EXPECT_EQ(f.tensors.at("u32").shape(), Shape{});
  EXPECT_EQ(f.tensors.at("i32").to_index_vector(), (std::vector<std::int64_t>{-7}));
  EXPECT_EQ(f.tensors.at("b").to_index_vector(), (std::vector<std::int64_t>{0, 1, 1}));
  EXPECT_EQ(f.tensors.at("u8").to_index_vector(), (std::vector<std::int64_t>{200}));
}

TEST(Safetensors, WidensEveryHalfAndBFloat16BitPatternExactly) {
  constexpr std::uint64_t kCount = 65536;
  std::string data(kCount * 2, '\0');
  for (std::uint32_t bits = 0; bits < kCount; ++bits) {
    const auto b = static_cast<std::uint16_t>(bits);
    std::memcpy(&data[bits * 2], &b, 2);
  }
  const std::string header = R"({"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]},)"
                             R"("b":{"dtype":"BF16","shape":[256,256],"data_offsets":[131072,262144]}})";
  const SafetensorsFile f = load_safetensors(craft("halves.safetensors", header, data + data));
  const std::vector<float> h = values_of<float>(f.tensors.at("h"));
  const std::vector<float> b = values_of<float>(f.tensors.at("b"));
  for (std::uint32_t bits = 0; bits < kCount; ++bits) {
    // GCC's _Float16 is the reference conversion; it may quiet a signalling NaN, so NaNs are
    // compared as NaNs with the same sign, everything else bit for bit.
    const float want = static_cast<float>(std::bit_cast<_Float16>(static_cast<std::uint16_t>(bits)));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(h[bits]) && std::signbit(h[bits]) == std::signbit(want)) << bits;
    } else {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(h[bits]), std::bit_cast<std::uint32_t>(want)) << "F16 bits " << bits;
    }
    ASSERT_EQ(std::bit_cast<std::uint32_t>(b[bits]), bits << 16) << "BF16 bits " << bits;
  }
}

// ---------------------------------------------------------------- saving errors

TEST(SafetensorsErrors, SaveRejectsBadNamesBeforeWriting) {
  const std::string path = temp_path("never.safetensors");
  expect_error([&] { save_safetensors(path, {{"__metadata__", Tensor::ones({1})}}); },
               {"save_safetensors", path, "__metadata__", "reserved"});
  expect_error([&] { save_safetensors(path, {{"w", Tensor()}}); }, {"save_safetensors", path, "'w'", "undefined"});
  expect_error([&] { save_safetensors(path, {{"bad\xff", Tensor::ones({1})}}); }, {path, "not valid UTF-8"});
  expect_error([&] { save_safetensors(path, {{"w", Tensor::ones({1})}}, {{"k", "\xc3"}}); }, {path, "not valid UTF-8"});
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(SafetensorsErrors, SaveIntoMissingDirectoryNamesPathAndReason) {
  const std::string path = temp_path("no_such_dir") + "/model.safetensors";
  expect_error([&] { save_safetensors(path, {{"w", Tensor::ones({1})}}); }, {path, "No such file or directory"});
}

// A save that runs out of room (here RLIMIT_FSIZE, which root cannot bypass the way it bypasses
// permissions) fails with EFBIG, removes its temporary file and leaves the previous checkpoint
// loadable. The failing save runs in a child so the limit does not touch the test runner.
TEST(SafetensorsErrors, FailedSaveLeavesPreviousFileIntact) {
  const std::string dir = temp_path("dir");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"w", Tensor::full({100}, 7.0)}}, {{"step", "1"}});
  const std::string before = read_bytes(path);
  const Tensor big = Tensor::zeros({1 << 20});  // 4 MiB, past the 64 KiB limit below

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const ::pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    // Ignored, SIGXFSZ no longer kills the writer: write() returns EFBIG instead.
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 << 10, 64 << 10};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      save_safetensors(path, {{"w", big}}, {{"step", "2"}});
    } catch (const Error& e) {
      message = e.what();
    }
    [[maybe_unused]] const auto written = ::write(pipe_fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (::ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);

  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), before);
  const SafetensorsFile old = load_safetensors(path);
  EXPECT_EQ(old.metadata.at("step"), "1");
  EXPECT_EQ(old.tensors.at("w").to_vector(), std::vector<double>(100, 7.0));
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().string(), path) << "temporary file left behind";
}

// ---------------------------------------------------------------- loading errors, one per case

TEST(SafetensorsErrors, MissingFile) {
  const std::string path = temp_path("absent.safetensors");
  expect_rejected(path, {"cannot open", "No such file or directory"});
}

TEST(SafetensorsErrors, ShorterThanEightBytes) {
  const std::string path = temp_path("short.safetensors");
  std::ofstream(path, std::ios::binary) << "abcde";
  expect_rejected(path, {"5 bytes long", "too short for the 8-byte header length"});
}

TEST(SafetensorsErrors, HeaderLengthPastEndOfFile) {
  expect_rejected(craft("past.safetensors", "{}", "", 1000), {"header length 1000", "past the end of the file (10 bytes)"});
}

TEST(SafetensorsErrors, HeaderLengthAbsurd) {
  expect_rejected(craft("absurd.safetensors", "{}", "", std::uint64_t{1} << 62),
                  {"header length 4611686018427387904", "exceeds the limit of 100000000 bytes"});
}

TEST(SafetensorsErrors, HeaderNotJson) {
  expect_rejected(craft("notjson.safetensors", R"({"w": {"dtype": "F32",)"), {"not valid JSON"});
  expect_rejected(craft("trailing.safetensors", R"({"__metadata__":{}} x)"), {"not valid JSON"});
  expect_rejected(craft("nul.safetensors", std::string("{}\0\0\0\0\0\0", 8)), {"NUL byte at offset 2", "padded only with spaces"});
}

TEST(SafetensorsErrors, HeaderNotObject) {
  expect_rejected(craft("array.safetensors", "[1, 2]   "), {"JSON object starting with '{'", "0x5b"});
  expect_rejected(craft("empty.safetensors", ""), {"JSON object starting with '{'", "empty header"});
}

TEST(SafetensorsErrors, EntryMissingField) {
  expect_rejected(craft("nodtype.safetensors", R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                  {"tensor 'w' has no \"dtype\" field"});
  expect_rejected(craft("noshape.safetensors", R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"),
                  {"tensor 'w' has no \"shape\" field"});
  expect_rejected(craft("nooffsets.safetensors", R"({"w":{"dtype":"F32","shape":[1]}})", "abcd"),
                  {"tensor 'w' has no \"data_offsets\" field"});
}

TEST(SafetensorsErrors, EntryWithWrongJsonTypes) {
  expect_rejected(craft("t1.safetensors", R"({"w":3})"), {"entry 'w' must be an object, found number"});
  expect_rejected(craft("t2.safetensors", R"({"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                  {"'w'", "\"dtype\" must be a string, found number"});
  expect_rejected(craft("t3.safetensors", R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd"),
                  {"'w'", "\"shape\" must be an array, found string"});
  expect_rejected(craft("t4.safetensors", R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "abcd"),
                  {"'w'", "non-integer dimension 1.5"});
  expect_rejected(craft("t5.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", "abcd"),
                  {"'w'", "\"data_offsets\" must be [begin, end]", "[0,4,8]"});
  expect_rejected(craft("t6.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}})", "abcd"),
                  {"'w'", "\"data_offsets\" must be [begin, end]"});
  expect_rejected(craft("t7.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", "abcd"),
                  {"'w'", "non-negative integers"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  expect_rejected(craft("q7.safetensors", R"({"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}})", "a"),
                  {"tensor 'w' has unknown dtype 'Q7'", "supported: F32, F64, I64, F16, BF16"});
  expect_rejected(craft("u64.safetensors", R"({"w":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}})", "abcdefgh"),
                  {"tensor 'w' has dtype U64, which ouro cannot load"});
}

TEST(SafetensorsErrors, NegativeShape) {
  expect_rejected(craft("neg.safetensors", R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})"),
                  {"tensor 'w'", "shape [2,-1] has a negative dimension -1"});
}

TEST(SafetensorsErrors, ShapeOverflowsSixtyFourBits) {
  // Element count 2^64 wraps to 0, which would match an empty range without the check.
  expect_rejected(craft("wrap.safetensors", R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
                  {"tensor 'w'", "more bytes than fit in 64 bits"});
  // 2^62 elements fit, 2^62 * 8 bytes do not.
  expect_rejected(craft("bytes.safetensors", R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})"),
                  {"tensor 'w'", "more bytes than fit in 64 bits"});
  // One dimension beyond int64, with a zero elsewhere: the product is 0 but no Shape holds it.
  expect_rejected(craft("dim.safetensors", R"({"w":{"dtype":"U8","shape":[0,9223372036854775808],"data_offsets":[0,0]}})"),
                  {"tensor 'w'", "more bytes than fit in 64 bits"});
}

TEST(SafetensorsErrors, SizeDoesNotMatchOffsets) {
  expect_rejected(craft("size.safetensors", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(20, 'x')),
                  {"tensor 'w'", "shape [2,3] of F32 needs 24 bytes but data_offsets [0, 20] span 20"});
}

TEST(SafetensorsErrors, BeginAfterEnd) {
  expect_rejected(craft("order.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, 'x')),
                  {"tensor 'w'", "data_offsets [8, 4] begin after they end"});
}

TEST(SafetensorsErrors, RangeOutsideDataSection) {
  expect_rejected(craft("outside.safetensors", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[400,404]}})", "abcd"),
                  {"tensor 'w'", "[400, 404] run past the end of the data section (4 bytes)"});
}

TEST(SafetensorsErrors, OverlappingRanges) {
  expect_rejected(craft("overlap.safetensors",
                        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        std::string(12, 'x')),
                  {"tensors 'a' [0, 8] and 'b' [4, 12] overlap"});
  // The same range twice is an overlap too (two names aliasing one buffer).
  expect_rejected(craft("alias.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                        "abcd"),
                  {"overlap"});
}

TEST(SafetensorsErrors, GapsInDataSection) {
  expect_rejected(craft("gap.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                        std::string(12, 'x')),
                  {"bytes [4, 8) of the data section belong to no tensor", "before 'b'"});
  expect_rejected(craft("lead.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, 'x')),
                  {"bytes [0, 4) of the data section belong to no tensor"});
  expect_rejected(craft("trail.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(9, 'x')),
                  {"bytes [4, 9) at the end of the data section belong to no tensor"});
}

TEST(SafetensorsErrors, MetadataValuesNotStrings) {
  expect_rejected(craft("meta1.safetensors", R"({"__metadata__":{"step":10}})"),
                  {"__metadata__ value for key 'step' must be a string, found number 10"});
  expect_rejected(craft("meta2.safetensors", R"({"__metadata__":["a"]})"), {"__metadata__ must be an object", "array"});
}

// nlohmann::json keeps the last of two equal keys silently, so the reader watches the keys as
// they are parsed and rejects a repeat in any object.
TEST(SafetensorsErrors, DuplicateNames) {
  expect_rejected(craft("dup.safetensors",
                        R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        std::string(8, 'x')),
                  {"the key 'w' appears twice in the header"});
  expect_rejected(craft("dupfield.safetensors", R"({"w":{"dtype":"F32","dtype":"F64","shape":[0],"data_offsets":[0,0]}})"),
                  {"the key 'dtype' appears twice"});
}

TEST(SafetensorsErrors, TruncatedFile) {
  const std::string path = temp_path("cut.safetensors");
  save_safetensors(path, {{"a", Tensor::ones({4})}, {"b", Tensor::ones({8})}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  expect_rejected(path, {"tensor 'b'", "data_offsets [16, 48] run past the end of the data section (45 bytes)", "truncated"});
}

}  // namespace
}  // namespace ouro::testing
