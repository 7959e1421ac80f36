// Interop with tests/io/safetensors_peer.py, a reader and writer written from the format's
// specification with numpy: ouro's files must pass its checks, and its files must load in ouro.
// The committed tests/fixtures/peer_written.safetensors keeps the second check running where
// Python is not installed.
#include <bit>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "gradcheck.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kPeer = std::string(OURO_FIXTURE_DIR) + "/../io/safetensors_peer.py";
const std::string kFixture = std::string(OURO_FIXTURE_DIR) + "/peer_written.safetensors";

bool python_with_numpy() {
  static const bool available =
      std::system((kPython + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
  return available;
}

#define SKIP_WITHOUT_PYTHON()                                                                       \
  if (!python_with_numpy())                                                                         \
  GTEST_SKIP() << "needs " << kPython << " with numpy (Debian: apt install python3-numpy); "      \
               << "the committed fixture test still checks that ouro loads the peer's file"

std::string temp_path(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "ouro_peer_" + info->name() + "_" + name;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The values safetensors_peer.py's peer_tensors() writes.
void expect_peer_contents(const SafetensorsFile& f) {
  ASSERT_EQ(f.tensors.size(), 9u);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{
                            {"format", "pt"}, {"written_by", "safetensors_peer.py"}, {"note", "ünïcode ✓"}}));
  const auto& t = f.tensors;
  EXPECT_EQ(t.at("weight").dtype(), DType::Float32);
  EXPECT_EQ(t.at("weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(t.at("weight").to_float_vector(), (std::vector<float>{0.5f, -1.25f, 3.0f, 4.0f, 1e-3f, -6.75f}));
  EXPECT_EQ(t.at("bias").dtype(), DType::Float64);
  EXPECT_EQ(t.at("bias").to_vector(), (std::vector<double>{0.1, -0.2, 1e300}));
  EXPECT_EQ(t.at("steps").dtype(), DType::Int64);
  EXPECT_EQ(t.at("steps").shape(), (Shape{2, 2}));
  EXPECT_EQ(t.at("steps").to_index_vector(),
            (std::vector<std::int64_t>{-9007199254740993, 0, 7, std::int64_t{1} << 62}));
  // F16 and BF16 widen to float32; every one of these values is exact in half precision.
  EXPECT_EQ(t.at("half").dtype(), DType::Float32);
  const std::vector<float> half = t.at("half").to_float_vector();
  ASSERT_EQ(half.size(), 7u);
  EXPECT_EQ(std::vector<float>(half.begin(), half.begin() + 5),
            (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(half[5], std::numeric_limits<float>::infinity());
  EXPECT_EQ(std::bit_cast<std::uint32_t>(half[6]), 0x80000000u);  // -0.0
  EXPECT_EQ(t.at("brain").dtype(), DType::Float32);
  EXPECT_EQ(t.at("brain").to_float_vector(), (std::vector<float>{1.0f, -2.0f, 0.5f, 3.140625f}));
  // I32 and U8 widen to int64.
  EXPECT_EQ(t.at("ids").dtype(), DType::Int64);
  EXPECT_EQ(t.at("ids").to_index_vector(), (std::vector<std::int64_t>{-2147483648LL, 0, 2147483647}));
  EXPECT_EQ(t.at("bytes").dtype(), DType::Int64);
  EXPECT_EQ(t.at("bytes").shape(), (Shape{2, 2}));
  EXPECT_EQ(t.at("bytes").to_index_vector(), (std::vector<std::int64_t>{0, 1, 128, 255}));
  EXPECT_EQ(t.at("scale").shape(), Shape{});
  EXPECT_EQ(t.at("scale").item(), 2.5);
  EXPECT_EQ(t.at("nothing").shape(), (Shape{0, 3}));
  EXPECT_EQ(t.at("nothing").numel(), 0);
}

TEST(SafetensorsPeer, LoadsCommittedPeerFixture) { expect_peer_contents(load_safetensors(kFixture)); }

TEST(SafetensorsPeer, LoadsFileThePeerWritesNow) {
  SKIP_WITHOUT_PYTHON();
  const std::string path = temp_path("peer.safetensors");
  ASSERT_EQ(run(kPython + " " + kPeer + " write " + path), 0);
  expect_peer_contents(load_safetensors(path));
  // The script is deterministic, so the committed fixture is what it writes today.
  EXPECT_EQ(read_bytes(path), read_bytes(kFixture))
      << "regenerate: /usr/bin/python3 tests/io/safetensors_peer.py write tests/fixtures/peer_written.safetensors";
}

// Writes `tensors` and `metadata` with ouro and the expectation as JSON, and returns the
// peer's exit status on `check`.
int peer_check(const std::string& stem, const std::map<std::string, Tensor>& tensors,
               const std::map<std::string, std::string>& metadata, const std::function<void(nlohmann::json&)>& tamper = {}) {
  const std::string file = temp_path(stem + ".safetensors");
  const std::string expected = temp_path(stem + ".json");
  save_safetensors(file, tensors, metadata);
  nlohmann::json j = {{"metadata", metadata}, {"aligned", true}, {"tensors", nlohmann::json::object()}};
  for (const auto& [name, t] : tensors) {
    nlohmann::json entry = {{"dtype", t.dtype() == DType::Float32   ? "F32"
                                      : t.dtype() == DType::Float64 ? "F64"
                                                                    : "I64"},
                            {"shape", t.shape()}};
    if (t.dtype() == DType::Int64)
      entry["data"] = t.to_index_vector();
    else
      entry["data"] = t.to_vector();  // float32 values are exact as doubles
    j["tensors"][name] = entry;
  }
  if (tamper) tamper(j);
  std::ofstream(expected) << j.dump();
  return run(kPython + " " + kPeer + " check " + file + " " + expected);
}

std::map<std::string, Tensor> sample_tensors() {
  Generator gen(11);
  Tensor base = Tensor::arange(12, DType::Float64);
  return {
      {"layers.0.weight", rand({4, 3}, -1.0, 1.0, DType::Float32, &gen)},
      {"layers.0.bias", Tensor::from_vector(std::vector<float>{1e-3f, -7.5f, 0.0f}, {3})},
      {"layers.1.weight", rand({2, 2, 2}, -1e6, 1e6, DType::Float64, &gen)},
      {"step", Tensor::from_indices({std::numeric_limits<std::int64_t>::min(), 123456789012345}, {2})},
      {"scalar", Tensor::scalar(0.25)},
      {"empty", Tensor::zeros({0, 4}, DType::Float64)},
      {"view.transposed", base.as_strided({4, 3}, {1, 4}, 0)},
      {"odd", Tensor::from_vector(std::vector<float>{1, 2, 3}, {3})},
  };
}

TEST(SafetensorsPeer, PeerReadsWhatOuroWrites) {
  SKIP_WITHOUT_PYTHON();
  EXPECT_EQ(peer_check("ours", sample_tensors(), {{"format", "pt"}, {"config", R"({"lr": 0.001})"}, {"ü", "✓"}}), 0);
  EXPECT_EQ(peer_check("bare", {{"w", Tensor::ones({1})}}, {}), 0);
}

// The oracle is only worth something if it can say no.
TEST(SafetensorsPeer, PeerRejectsAWrongExpectation) {
  SKIP_WITHOUT_PYTHON();
  const auto tensors = sample_tensors();
  EXPECT_NE(peer_check("value", tensors, {}, [](nlohmann::json& j) { j["tensors"]["odd"]["data"][1] = 2.5; }), 0);
  EXPECT_NE(peer_check("shape", tensors, {}, [](nlohmann::json& j) { j["tensors"]["odd"]["shape"] = {1, 3}; }), 0);
  EXPECT_NE(peer_check("meta", tensors, {{"a", "b"}}, [](nlohmann::json& j) { j["metadata"]["a"] = "c"; }), 0);
}

}  // namespace
}  // namespace ouro::testing
