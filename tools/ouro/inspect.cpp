// `ouro inspect CKPT`: what a safetensors file holds — tensors with dtypes and shapes, the
// parameter count, and its metadata — read from the header alone, for any safetensors file.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "task.h"
#include "ouro/io/safetensors.h"
#include "ouro/nn/summary.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro inspect CKPT [--full]\n"
    "\n"
    "Lists the tensors of a safetensors file (an ouro checkpoint or any other): name, dtype,\n"
    "shape and element count; the parameter count (the model.* tensors of an ouro training\n"
    "checkpoint, every tensor otherwise); and the metadata entries. Only the header is read.\n"
    "\n"
    "CKPT: a checkpoint file, or a run directory (its newest checkpoint).\n"
    "\n"
    "options:\n"
    "  --full   print metadata values whole (default: cut at 160 characters)\n"
    "  --help   this text\n"
    "\n"
    "exit codes: 0 success, 1 unreadable or malformed file, 2 usage error\n";

std::string shape_text(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

}  // namespace

int run_inspect(int argc, char** argv) {
  const Args args = parse_args("inspect", argc, argv, {{"full", false, false}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  const std::string path = resolve_checkpoint(args.positional[0]);
  const SafetensorsHeader header = read_safetensors_header(path);
  const bool ouro_checkpoint = header.metadata.count("format") && header.metadata.at("format").find("ouro") != std::string::npos;

  std::printf("file: %s (%s bytes of tensor data)\n", path.c_str(), format_count(static_cast<std::int64_t>(header.data_bytes)).c_str());
  std::size_t width = 4;
  for (const auto& t : header.tensors) width = std::max(width, t.name.size());
  std::printf("\ntensors (%zu):\n", header.tensors.size());
  std::printf("  %-*s  %-5s  %-20s  %s\n", static_cast<int>(width), "name", "dtype", "shape", "elements");
  std::int64_t parameters = 0, total = 0;
  std::map<std::string, std::int64_t> by_group;  // "model", "optimizer", ...
  for (const auto& t : header.tensors) {
    const std::int64_t n = numel(t.shape);
    std::printf("  %-*s  %-5s  %-20s  %s\n", static_cast<int>(width), t.name.c_str(), t.dtype.c_str(),
                shape_text(t.shape).c_str(), format_count(n).c_str());
    total += n;
    by_group[t.name.substr(0, t.name.find('.'))] += n;
    if (!ouro_checkpoint || t.name.rfind("model.", 0) == 0) parameters += n;
  }
  std::printf("\nparameters: %s%s\n", format_count(parameters).c_str(),
              ouro_checkpoint ? " (model.* tensors)" : "");
  if (ouro_checkpoint)
    for (const auto& [group, n] : by_group)
      if (group != "model") std::printf("%s state: %s elements\n", group.c_str(), format_count(n).c_str());
  std::printf("all tensors: %s elements\n", format_count(total).c_str());

  std::printf("\nmetadata (%zu):\n", header.metadata.size());
  const bool full = args.has("full");
  for (const auto& [key, value] : header.metadata) {
    std::string shown = value;
    if (!full && shown.size() > 160) shown = shown.substr(0, 160) + "... (" + std::to_string(value.size()) + " chars; --full)";
    std::printf("  %s: %s\n", key.c_str(), shown.c_str());
  }
  if (const auto it = header.metadata.find(kConfigMetadataKey); it != header.metadata.end()) {
    try {
      const std::string toml_text = nlohmann::json::parse(it->second).get<std::string>();
      std::printf("\nconfig (%s):\n", kConfigMetadataKey);
      std::size_t start = 0;
      while (start < toml_text.size()) {
        const std::size_t end = std::min(toml_text.find('\n', start), toml_text.size());
        std::printf("  %s\n", toml_text.substr(start, end - start).c_str());
        start = end + 1;
      }
    } catch (const nlohmann::json::exception&) {
      // Shown raw above; a malformed entry matters to the commands that rebuild the model.
    }
  }
  return kExitOk;
}

}  // namespace ouro::cli
