// Reads reference values that a committed generator script (tests/fixtures/*.py, run with
// Debian's python3-torch) wrote as JSON. CI reads only the JSON.
#pragma once
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ouro/ouro.h"

namespace ouro::testing {

inline nlohmann::json load_fixture(const std::string& name) {
  const std::string path = std::string(OURO_FIXTURE_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in) throw Error("fixture " + path + ": cannot open (regenerate it with the script beside it)");
  return nlohmann::json::parse(in);
}

// A fixture tensor stored as {"shape": [...], "data": [... row-major ...]}.
inline Tensor fixture_tensor(const nlohmann::json& j, DType dtype = DType::Float64) {
  const Shape shape = j.at("shape").get<Shape>();
  if (dtype == DType::Int64) return Tensor::from_indices(j.at("data").get<std::vector<std::int64_t>>(), shape);
  return Tensor::from_vector(j.at("data").get<std::vector<double>>(), shape, dtype);
}

}  // namespace ouro::testing
