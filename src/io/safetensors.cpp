#include "ouro/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "ouro/core/error.h"
#include "ouro/io/atomic_file.h"

namespace ouro {
namespace {

using nlohmann::json;

// The format is little-endian; on such a host a tensor's bytes are its file bytes.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

// The reference implementation's limit: a header beyond it is far more likely a corrupt
// length than a real model, and parsing it would cost that much memory first.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

enum class Widen { None, Half, BFloat16, Bool, U8, I8, U16, I16, U32, I32 };

struct DTypeInfo {
  const char* name;
  std::size_t size;  // bytes per element in the file
  DType loads_as;
  Widen widen;
};

constexpr DTypeInfo kLoadable[] = {
    {"F32", 4, DType::Float32, Widen::None},   {"F64", 8, DType::Float64, Widen::None},
    {"I64", 8, DType::Int64, Widen::None},     {"F16", 2, DType::Float32, Widen::Half},
    {"BF16", 2, DType::Float32, Widen::BFloat16}, {"BOOL", 1, DType::Int64, Widen::Bool},
    {"U8", 1, DType::Int64, Widen::U8},        {"I8", 1, DType::Int64, Widen::I8},
    {"U16", 2, DType::Int64, Widen::U16},      {"I16", 2, DType::Int64, Widen::I16},
    {"U32", 4, DType::Int64, Widen::U32},      {"I32", 4, DType::Int64, Widen::I32},
};

// Valid in the format but without a lossless ouro dtype (U64 can exceed int64; the 8-, 6- and
// 4-bit floats and complex types have no kernels): named separately so the error says so.
constexpr const char* kKnownUnsupported[] = {"U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

const DTypeInfo* find_loadable(const std::string& name) {
  for (const DTypeInfo& info : kLoadable)
    if (name == info.name) return &info;
  return nullptr;
}

const char* file_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

std::string supported_list() {
  std::string out;
  for (const DTypeInfo& info : kLoadable) out += (out.empty() ? "" : ", ") + std::string(info.name);
  return out;
}

// Every error names the file first, so a user with many checkpoints knows which one is bad.
template <typename... Parts>
[[noreturn]] void fail(const std::string& path, const Parts&... parts) {
  throw Error(detail::concat("safetensors: ", path, ": ", parts...));
}

std::string json_type(const json& j) { return j.type_name(); }

// data_offsets entries and shape dimensions: JSON integers that fit in 64 bits. nlohmann stores
// a non-negative integer as number_unsigned, a negative one as number_integer, and anything
// with a fraction, an exponent or beyond 2^64 as number_float.
bool is_unsigned_integer(const json& j) { return j.is_number_unsigned(); }

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& j) {
  if (!j.is_object()) fail(path, "entry '", name, "' must be an object, found ", json_type(j));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) fail(path, "tensor '", name, "' has no \"", key, "\" field");

  SafetensorsEntry e;
  e.name = name;
  const json& dtype = j["dtype"];
  if (!dtype.is_string()) fail(path, "tensor '", name, "': \"dtype\" must be a string, found ", json_type(dtype));
  e.dtype = dtype.get<std::string>();
  const DTypeInfo* info = find_loadable(e.dtype);
  if (info == nullptr) {
    for (const char* known : kKnownUnsupported)
      if (e.dtype == known)
        fail(path, "tensor '", name, "' has dtype ", e.dtype, ", which ouro cannot load (supported: ", supported_list(),
             ")");
    fail(path, "tensor '", name, "' has unknown dtype '", e.dtype, "' (supported: ", supported_list(), ")");
  }

  const json& shape = j["shape"];
  if (!shape.is_array()) fail(path, "tensor '", name, "': \"shape\" must be an array, found ", json_type(shape));
  std::uint64_t numel = 1;
  bool overflow = false;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const json& dim = shape[d];
    if (!dim.is_number_integer())
      fail(path, "tensor '", name, "': shape ", shape.dump(), " has a non-integer dimension ", dim.dump());
    if (!is_unsigned_integer(dim))
      fail(path, "tensor '", name, "': shape ", shape.dump(), " has a negative dimension ", dim.dump());
    const std::uint64_t size = dim.get<std::uint64_t>();
    if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) overflow = true;
    // Keep multiplying after an overflow only to find a zero, which would make the product 0;
    // the product is still rejected, because the shape itself cannot be an ouro Shape.
    if (__builtin_mul_overflow(numel, size, &numel)) overflow = true;
    e.shape.push_back(static_cast<std::int64_t>(size));
  }
  std::uint64_t nbytes = 0;
  if (overflow || numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
      __builtin_mul_overflow(numel, static_cast<std::uint64_t>(info->size), &nbytes))
    fail(path, "tensor '", name, "': shape ", shape.dump(), " of ", e.dtype, " has more bytes than fit in 64 bits");

  const json& offsets = j["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !is_unsigned_integer(offsets[0]) ||
      !is_unsigned_integer(offsets[1]))
    fail(path, "tensor '", name, "': \"data_offsets\" must be [begin, end] with non-negative integers, found ",
         offsets.dump());
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  if (e.begin > e.end) fail(path, "tensor '", name, "': data_offsets [", e.begin, ", ", e.end, "] begin after they end");
  if (e.end - e.begin != nbytes)
    fail(path, "tensor '", name, "': shape ", shape.dump(), " of ", e.dtype, " needs ", nbytes,
         " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  return e;
}

// Validates the header text (N bytes, padding included) of a file whose data section holds
// `data_bytes` bytes.
SafetensorsHeader parse_header(const std::string& path, const char* text, std::uint64_t n, std::uint64_t data_bytes) {
  if (n == 0 || text[0] != '{')
    fail(path, "the header must be a JSON object starting with '{', found ",
         n == 0 ? std::string("an empty header") : "byte 0x" + detail::concat(std::hex, static_cast<int>(static_cast<unsigned char>(text[0]))));

  // JSON text never holds a raw NUL (strings must escape control characters), and nlohmann's
  // iterator parser stops at one without complaint, so "{}\0<anything>" would pass as "{}".
  if (const void* nul = std::memchr(text, '\0', n))
    fail(path, "the header contains a NUL byte at offset ", static_cast<const char*>(nul) - text,
         " (it must be JSON padded only with spaces)");

  // nlohmann keeps the last of two equal keys without a word, so duplicates are caught here,
  // in every object: a second "dtype" in one entry is as suspicious as a second tensor name.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const json::parser_callback_t watch_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && duplicate.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, watch_keys);
  } catch (const json::exception& e) {
    fail(path, "the header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail(path, "the header must be a JSON object, found ", json_type(header));
  if (!duplicate.empty()) fail(path, "the key '", duplicate, "' appears twice in the header");

  SafetensorsHeader out;
  out.header_bytes = n;
  out.data_bytes = data_bytes;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      if (!value.is_object()) fail(path, "__metadata__ must be an object of strings, found ", json_type(value));
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string())
          fail(path, "__metadata__ value for key '", key, "' must be a string, found ", json_type(v), " ", v.dump());
        out.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    out.tensors.push_back(parse_entry(path, name, value));
  }

  // The format requires the ranges to tile the data section: walk them in offset order.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : out.tensors) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* e : by_offset) {
    if (e->end > data_bytes)
      fail(path, "tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end,
           "] run past the end of the data section (", data_bytes, " bytes): the file is truncated or the offsets are wrong");
    if (e->begin < covered)
      fail(path, "tensors '", previous->name, "' [", previous->begin, ", ", previous->end, "] and '", e->name, "' [",
           e->begin, ", ", e->end, "] overlap");
    if (e->begin > covered)
      fail(path, "bytes [", covered, ", ", e->begin, ") of the data section belong to no tensor (a gap before '",
           e->name, "')");
    covered = e->end;
    previous = e;
  }
  if (covered != data_bytes)
    fail(path, "bytes [", covered, ", ", data_bytes, ") at the end of the data section belong to no tensor");
  return out;
}

// An open file descriptor, closed on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void check_room_for_length(const std::string& path, std::uint64_t size) {
  if (size < 8) fail(path, "the file is ", size, " bytes long, too short for the 8-byte header length");
}

// Opens `path` and returns its size after checking it can hold the 8-byte length.
std::uint64_t open_checked(const std::string& path, Fd& file) {
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) fail(path, "cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) fail(path, "cannot stat: ", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  check_room_for_length(path, size);
  return size;
}

// N from the first 8 bytes, checked against the limit and the file size.
std::uint64_t header_length(const std::string& path, const unsigned char* first8, std::uint64_t file_size) {
  std::uint64_t n = 0;
  std::memcpy(&n, first8, 8);
  if (n > kMaxHeaderBytes)
    fail(path, "the header length ", n, " exceeds the limit of ", kMaxHeaderBytes, " bytes (corrupt or not a safetensors file)");
  if (n > file_size - 8)
    fail(path, "the header length ", n, " runs past the end of the file (", file_size, " bytes)");
  return n;
}

void read_exactly(const std::string& path, int fd, void* out, std::size_t bytes, std::uint64_t offset) {
  char* p = static_cast<char*>(out);
  while (bytes > 0) {
    const ::ssize_t got = ::pread(fd, p, bytes, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(path, "cannot read: ", std::strerror(errno));
    if (got == 0) fail(path, "the file ended while reading the header (was it truncated while being read?)");
    p += got;
    bytes -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

// IEEE binary16 -> binary32, exact for every input (subnormals, infinities, NaN payloads).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exactly representable in float.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Unaligned loads: a foreign file's data offsets need not be multiples of the element size.
template <typename T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename Src, typename Dst, typename Convert>
void widen(const unsigned char* src, Dst* dst, std::int64_t n, Convert convert) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = convert(load<Src>(src + i * static_cast<std::int64_t>(sizeof(Src))));
}

Tensor load_entry(const SafetensorsEntry& e, const unsigned char* src) {
  const DTypeInfo& info = *find_loadable(e.dtype);
  Tensor t = Tensor::empty(e.shape, info.loads_as);
  const std::int64_t n = t.numel();
  if (n == 0) return t;
  const auto as_int = [](auto v) { return static_cast<std::int64_t>(v); };
  switch (info.widen) {
    case Widen::None: std::memcpy(t.raw_data(), src, e.end - e.begin); break;
    case Widen::Half: widen<std::uint16_t>(src, t.data<float>(), n, half_to_float); break;
    case Widen::BFloat16:
      // bfloat16 is the top half of a float32.
      widen<std::uint16_t>(src, t.data<float>(), n,
                           [](std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); });
      break;
    case Widen::Bool:
      widen<std::uint8_t>(src, t.data<std::int64_t>(), n, [](std::uint8_t b) { return std::int64_t{b != 0}; });
      break;
    case Widen::U8: widen<std::uint8_t>(src, t.data<std::int64_t>(), n, as_int); break;
    case Widen::I8: widen<std::int8_t>(src, t.data<std::int64_t>(), n, as_int); break;
    case Widen::U16: widen<std::uint16_t>(src, t.data<std::int64_t>(), n, as_int); break;
    case Widen::I16: widen<std::int16_t>(src, t.data<std::int64_t>(), n, as_int); break;
    case Widen::U32: widen<std::uint32_t>(src, t.data<std::int64_t>(), n, as_int); break;
    case Widen::I32: widen<std::int32_t>(src, t.data<std::int64_t>(), n, as_int); break;
  }
  return t;
}

// A read-only mapping of a whole file, unmapped on every path out.
struct Mapping {
  void* data = MAP_FAILED;
  std::size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED) ::munmap(data, size);
  }
};

}  // namespace

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::uint64_t offset = 0;
  // std::map iterates in name order, which fixes the data layout; nlohmann's object is a
  // std::map too, so the header text is equally deterministic.
  for (const auto& [name, t] : tensors) {
    OURO_CHECK(name != kMetadataKey, "save_safetensors: ", path, ": '", kMetadataKey,
               "' is reserved for metadata and cannot name a tensor");
    OURO_CHECK(t.defined(), "save_safetensors: ", path, ": tensor '", name, "' is undefined (default-constructed)");
    const Tensor c = t.is_contiguous() ? t : t.copy();
    const std::uint64_t bytes = static_cast<std::uint64_t>(c.numel()) * dtype_size(c.dtype());
    json entry = json::object();
    entry["dtype"] = file_dtype_name(c.dtype());
    entry["shape"] = c.shape();
    entry["data_offsets"] = json::array({offset, offset + bytes});
    header[name] = std::move(entry);
    offset += bytes;
    contiguous.push_back(c);
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    throw Error(detail::concat("save_safetensors: ", path, ": a tensor name or metadata string is not valid UTF-8 (",
                               e.what(), ")"));
  }
  // Spaces after the JSON put the data section on an 8-byte boundary, so a reader that maps
  // the file can use F64/I64 data in place.
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t n = text.size();

  write_file_atomically(path, [&](FileSink& sink) {
    sink.write(&n, sizeof(n));
    sink.write(text);
    for (const Tensor& c : contiguous)
      if (c.numel() > 0) sink.write(c.raw_data(), static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype()));
  });
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  Fd file;
  const std::uint64_t size = open_checked(path, file);
  unsigned char first8[8];
  read_exactly(path, file.fd, first8, 8, 0);
  const std::uint64_t n = header_length(path, first8, size);
  std::string text(n, '\0');
  read_exactly(path, file.fd, text.data(), n, 8);
  return parse_header(path, text.data(), n, size - 8 - n);
}

SafetensorsFile load_safetensors(const std::string& path) {
  Fd file;
  const std::uint64_t size = open_checked(path, file);
  // Tensors are copied out rather than kept as views of the mapping: ouro's Storage belongs to
  // the caching allocator, and a mapping outliving this call would turn a later truncation of
  // the file by someone else into SIGBUS in the middle of training.
  Mapping map;
  map.size = static_cast<std::size_t>(size);
  map.data = ::mmap(nullptr, map.size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, file.fd, 0);
  if (map.data == MAP_FAILED) fail(path, "cannot mmap ", size, " bytes: ", std::strerror(errno));
  return parse_safetensors(std::string_view(static_cast<const char*>(map.data), map.size), path);
}

SafetensorsHeader parse_safetensors_header(std::string_view bytes, const std::string& source) {
  const std::uint64_t size = bytes.size();
  check_room_for_length(source, size);
  const std::uint64_t n = header_length(source, reinterpret_cast<const unsigned char*>(bytes.data()), size);
  return parse_header(source, bytes.data() + 8, n, size - 8 - n);
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& source) {
  const SafetensorsHeader header = parse_safetensors_header(bytes, source);
  SafetensorsFile out;
  out.metadata = header.metadata;
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()) + 8 + header.header_bytes;
  for (const SafetensorsEntry& e : header.tensors) out.tensors.emplace(e.name, load_entry(e, data + e.begin));
  return out;
}

}  // namespace ouro
