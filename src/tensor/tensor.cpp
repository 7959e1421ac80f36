#include "ouro/tensor/tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>

#include "ouro/tensor/allocator.h"

namespace ouro {

Storage::Storage(std::size_t bytes) : data(allocate_bytes(bytes)), nbytes(bytes) {}
Storage::~Storage() { free_bytes(data, nbytes); }

namespace {

// Visits the storage offset of every element in logical row-major order.
template <typename Fn>
void for_each_offset(const TensorImpl& t, Fn&& fn) {
  const std::int64_t n = shape_numel(t.shape);
  if (n == 0) return;
  const std::size_t rank = t.shape.size();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = t.offset;
  for (std::int64_t i = 0; i < n; ++i) {
    fn(offset);
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < t.shape[d]) {
        offset += t.strides[d];
        break;
      }
      offset -= t.strides[d] * (t.shape[d] - 1);
      index[d] = 0;
    }
  }
}

double read_as_double(const TensorImpl& t, std::int64_t offset) {
  const void* base = t.storage->data;
  switch (t.dtype) {
    case DType::Float32: return static_cast<const float*>(base)[offset];
    case DType::Float64: return static_cast<const double*>(base)[offset];
    case DType::Int64: return static_cast<double>(static_cast<const std::int64_t*>(base)[offset]);
  }
  return 0;
}

void write_from_double(TensorImpl& t, std::int64_t offset, double value) {
  void* base = t.storage->data;
  switch (t.dtype) {
    case DType::Float32: static_cast<float*>(base)[offset] = static_cast<float>(value); break;
    case DType::Float64: static_cast<double*>(base)[offset] = value; break;
    case DType::Int64: static_cast<std::int64_t*>(base)[offset] = static_cast<std::int64_t>(value); break;
  }
}

}  // namespace

void Tensor::throw_undefined() { throw Error("tensor: use of an undefined (empty) Tensor handle"); }

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  const std::int64_t n = shape_numel(shape);
  // The byte count must not wrap around (a wrapped size would give a small buffer for a huge
  // tensor); ptrdiff_t bounds it so that every pointer difference inside stays defined.
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  OURO_CHECK(n <= std::numeric_limits<std::ptrdiff_t>::max() / element, "tensor of shape ", shape_str(shape), " (",
             dtype_name(dtype), "): ", n, " elements of ", element, " bytes exceed the addressable memory");
  const auto bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
  try {
    impl->storage = std::make_shared<Storage>(bytes);
  } catch (const std::bad_alloc&) {
    throw Error(detail::concat("tensor of shape ", shape_str(shape), " (", dtype_name(dtype), "): cannot allocate ",
                               bytes, " bytes (out of memory)"));
  }
  impl->shape = shape;
  impl->numel = n;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  const std::int64_t n = shape_numel(shape);
  OURO_CHECK(static_cast<std::int64_t>(values.size()) == n, "Tensor::from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", n, " elements)");
  Tensor t = empty(shape, dtype);
  for (std::int64_t i = 0; i < n; ++i) write_from_double(t.impl(), i, values[i]);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  const std::int64_t n = shape_numel(shape);
  OURO_CHECK(static_cast<std::int64_t>(values.size()) == n, "Tensor::from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", n, " elements)");
  Tensor t = empty(shape, DType::Float32);
  if (n > 0) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(float));  // an empty vector's data() may be null
  return t;
}

Tensor Tensor::from_indices(const std::vector<std::int64_t>& values, const Shape& shape) {
  const std::int64_t n = shape_numel(shape);
  OURO_CHECK(static_cast<std::int64_t>(values.size()) == n, "Tensor::from_indices: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", n, " elements)");
  Tensor t = empty(shape, DType::Int64);
  if (n > 0) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(std::int64_t));  // an empty vector's data() may be null
  return t;
}

Tensor Tensor::arange(std::int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  for (std::int64_t i = 0; i < n; ++i) write_from_double(t.impl(), i, static_cast<double>(i));
  return t;
}

std::int64_t Tensor::size(std::int64_t d) const {
  return impl().shape[normalize_dim(d, dim(), "Tensor::size")];
}

bool Tensor::is_contiguous() const {
  const TensorImpl& t = impl();
  std::int64_t expected = 1;
  for (std::size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] == 1) continue;
    if (t.strides[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype())) + " tensor of shape " + shape_str(shape());
}

template <typename T>
T* Tensor::data() const {
  const TensorImpl& t = impl();
  OURO_CHECK(t.dtype == dtype_of<T>(), "Tensor::data: requested ", dtype_name(dtype_of<T>()),
             " from a ", describe());
  return static_cast<T*>(t.storage->data) + t.offset;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template std::int64_t* Tensor::data<std::int64_t>() const;

void* Tensor::raw_data() const {
  const TensorImpl& t = impl();
  return static_cast<char*>(t.storage->data) + t.offset * static_cast<std::int64_t>(dtype_size(t.dtype));
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  const TensorImpl& t = impl();
  OURO_CHECK(index.size() == t.shape.size(), "Tensor::at: ", index.size(), " indices for a ", describe());
  std::int64_t offset = t.offset;
  std::size_t d = 0;
  for (std::int64_t i : index) {
    OURO_CHECK(i >= 0 && i < t.shape[d], "Tensor::at: index ", i, " out of range for dimension ", d,
               " of size ", t.shape[d]);
    offset += i * t.strides[d];
    ++d;
  }
  return read_as_double(t, offset);
}

double Tensor::item() const {
  OURO_CHECK(numel() == 1, "Tensor::item: expected a one-element tensor, got a ", describe());
  return read_as_double(impl(), impl().offset);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(numel()));
  const TensorImpl& t = impl();
  for_each_offset(t, [&](std::int64_t off) { out.push_back(read_as_double(t, off)); });
  return out;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(numel()));
  const TensorImpl& t = impl();
  for_each_offset(t, [&](std::int64_t off) { out.push_back(static_cast<float>(read_as_double(t, off))); });
  return out;
}

std::vector<std::int64_t> Tensor::to_index_vector() const {
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(numel()));
  const TensorImpl& t = impl();
  for_each_offset(t, [&](std::int64_t off) {
    out.push_back(t.dtype == DType::Int64 ? static_cast<const std::int64_t*>(t.storage->data)[off]
                                          : static_cast<std::int64_t>(read_as_double(t, off)));
  });
  return out;
}

Tensor Tensor::to(DType target) const {
  Tensor out = empty(shape(), target);
  out.copy_from_(*this);
  return out;
}

Tensor Tensor::copy() const { return to(dtype()); }

void Tensor::fill_(double value) {
  TensorImpl& t = impl();
  if (is_contiguous()) {  // the common case (ones, full) as a typed loop
    const std::int64_t n = numel();
    switch (t.dtype) {
      case DType::Float32: std::fill_n(data<float>(), n, static_cast<float>(value)); return;
      case DType::Float64: std::fill_n(data<double>(), n, value); return;
      case DType::Int64: std::fill_n(data<std::int64_t>(), n, static_cast<std::int64_t>(value)); return;
    }
  }
  for_each_offset(t, [&](std::int64_t off) { write_from_double(t, off, value); });
}

void Tensor::copy_from_(const Tensor& src) {
  OURO_CHECK(src.shape() == shape(), "Tensor::copy_from_: source ", src.describe(), " does not match destination ",
             describe());
  TensorImpl& dst = impl();
  const TensorImpl& s = src.impl();
  if (dst.dtype == s.dtype && is_contiguous() && src.is_contiguous()) {
    std::memmove(raw_data(), src.raw_data(), static_cast<std::size_t>(numel()) * dtype_size(dst.dtype));
    return;
  }
  if (dst.dtype == s.dtype && is_contiguous()) {
    // copy() of a view: one typed pass over the source, no per-element conversion through double.
    const std::size_t size = dtype_size(s.dtype);
    const char* from = static_cast<const char*>(s.storage->data);
    char* to = static_cast<char*>(raw_data());
    std::int64_t i = 0;
    for_each_offset(s, [&](std::int64_t off) { std::memcpy(to + (i++) * size, from + off * size, size); });
    return;
  }
  std::vector<std::int64_t> src_offsets;
  src_offsets.reserve(static_cast<std::size_t>(numel()));
  for_each_offset(s, [&](std::int64_t off) { src_offsets.push_back(off); });
  std::size_t i = 0;
  if (dst.dtype == DType::Int64 && s.dtype == DType::Int64) {
    const auto* from = static_cast<const std::int64_t*>(s.storage->data);
    auto* to = static_cast<std::int64_t*>(dst.storage->data);
    for_each_offset(dst, [&](std::int64_t off) { to[off] = from[src_offsets[i++]]; });
    return;
  }
  for_each_offset(dst, [&](std::int64_t off) { write_from_double(dst, off, read_as_double(s, src_offsets[i++])); });
}

Tensor Tensor::as_strided(const Shape& new_shape, const Strides& new_strides, std::int64_t new_offset) const {
  OURO_CHECK(new_shape.size() == new_strides.size(), "Tensor::as_strided: shape ", shape_str(new_shape), " and strides ",
             shape_str(new_strides), " differ in rank");
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->numel = shape_numel(new_shape);
  view->shape = new_shape;
  view->strides = new_strides;
  view->offset = new_offset;
  view->dtype = dtype();
  return Tensor(std::move(view));
}

Tensor& Tensor::set_requires_grad(bool value) {
  TensorImpl& t = impl();
  OURO_CHECK(!value || is_floating(t.dtype), "set_requires_grad: only floating tensors can require grad, got a ",
             describe());
  OURO_CHECK(t.grad_fn == nullptr, "set_requires_grad: only leaf tensors can be marked; this ", describe(),
             " was made by an op (use detach() first)");
  t.requires_grad = value;
  return *this;
}

Tensor Tensor::detach() const {
  const TensorImpl& t = impl();
  return as_strided(t.shape, t.strides, t.offset);
}

}  // namespace ouro
