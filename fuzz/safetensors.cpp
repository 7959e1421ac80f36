// Fuzzes the safetensors reader (header JSON, dtypes, shapes, data ranges, widening) on a whole
// file's bytes: every input must load or throw ouro::Error, never read outside the buffer.
#include "fuzz_input.h"
#include "ouro/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ouro;
  const std::string_view bytes = fuzz::as_text(data, size);
  fuzz::expect_error_or_success([&] {
    const SafetensorsFile file = parse_safetensors(bytes, "fuzz.safetensors");
    const SafetensorsHeader header = parse_safetensors_header(bytes, "fuzz.safetensors");
    if (header.tensors.size() != file.tensors.size()) fuzz::property_failed("header and file list different tensors");
    // A loaded tensor holds exactly its shape's elements, all readable.
    for (const auto& [name, t] : file.tensors) {
      const std::size_t bytes_held = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
      if (bytes_held > 0) {
        volatile unsigned char sink = 0;
        const auto* p = static_cast<const unsigned char*>(t.raw_data());
        for (std::size_t i = 0; i < bytes_held; ++i) sink = sink ^ p[i];
      }
    }
  });
  return 0;
}
