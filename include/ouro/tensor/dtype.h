// DType: the element types a tensor can hold, and how to dispatch on them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ouro/core/error.h"

namespace ouro {

enum class DType : std::uint8_t { Float32, Float64, Int64 };

constexpr std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "?";
}

inline bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }

// Calls fn(T{}) with T the C++ type of a floating dtype; `op` names the caller in the error.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  throw Error(detail::concat(op, ": expected a floating dtype (float32 or float64), got ", dtype_name(dtype)));
}

// As dispatch_floating, plus int64.
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int64: return fn(std::int64_t{});
  }
  return fn(float{});
}

}  // namespace ouro
