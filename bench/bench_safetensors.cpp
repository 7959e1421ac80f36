// Checkpoint throughput for a ~100 MB model (25 float32 tensors of 2^20 elements) under /tmp:
// ouro's save_safetensors (temp file, fsync, rename, directory fsync) against a plain
// write(2) + fsync of the same bytes into one file, and load_safetensors (mmap, validate, copy
// out) against read(2) of the same file into a buffer that is already allocated. Both loads
// read from the page cache, as a resume right after a save does. Bytes counted: the file size.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ouro/io/safetensors.h"
#include "ouro/tensor/random.h"

namespace {

constexpr int kTensors = 25;
constexpr std::int64_t kElements = std::int64_t{1} << 20;

const std::map<std::string, ouro::Tensor>& model() {
  static const auto* tensors = [] {
    auto* m = new std::map<std::string, ouro::Tensor>();
    ouro::Generator gen(3);
    for (int i = 0; i < kTensors; ++i)
      (*m)["layers." + std::to_string(i) + ".weight"] = ouro::rand({1024, 1024}, -1.0, 1.0, ouro::DType::Float32, &gen);
    return m;
  }();
  return *tensors;
}

std::string bench_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("ouro_bench_") + name + ".safetensors")).string();
}

void save_ouro(benchmark::State& state) {
  const std::string path = bench_path("save");
  for (auto _ : state) ouro::save_safetensors(path, model(), {{"step", "1"}});
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(std::filesystem::file_size(path)));
  std::filesystem::remove(path);
}

void save_raw_write(benchmark::State& state) {
  const std::string path = bench_path("raw");
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bytes = 0;
    for (const auto& [name, t] : model()) {
      const auto n = static_cast<std::size_t>(t.numel()) * sizeof(float);
      if (::write(fd, t.raw_data(), n) != static_cast<::ssize_t>(n)) state.SkipWithError("short write");
      bytes += static_cast<std::int64_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * bytes);
  std::filesystem::remove(path);
}

void load_ouro(benchmark::State& state) {
  const std::string path = bench_path("load");
  ouro::save_safetensors(path, model());
  for (auto _ : state) {
    ouro::SafetensorsFile file = ouro::load_safetensors(path);
    benchmark::DoNotOptimize(file.tensors.begin()->second.raw_data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(std::filesystem::file_size(path)));
  std::filesystem::remove(path);
}

void load_raw_read(benchmark::State& state) {
  const std::string path = bench_path("rawload");
  ouro::save_safetensors(path, model());
  const auto size = static_cast<std::size_t>(std::filesystem::file_size(path));
  std::vector<char> buffer(size);
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    std::size_t done = 0;
    while (done < size) {
      const ::ssize_t n = ::read(fd, buffer.data() + done, size - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(size));
  std::filesystem::remove(path);
}

BENCHMARK(save_ouro)->Name("safetensors_save/ouro/mb:100")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(save_raw_write)->Name("safetensors_save/raw_write/mb:100")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(load_ouro)->Name("safetensors_load/ouro/mb:100")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(load_raw_read)->Name("safetensors_load/raw_read/mb:100")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
