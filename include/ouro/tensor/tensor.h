// Tensor: a shared handle to typed, strided memory plus the autograd fields that make it a
// node in the graph. Views (reshape, transpose, slice, expand) share storage and differ only
// in shape, strides and offset. Math lives in ouro/ops; this file is the data structure.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ouro/tensor/dtype.h"
#include "ouro/tensor/shape.h"

namespace ouro {

class Node;

// A block of memory from the caching allocator; returned to it on destruction.
struct Storage {
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t nbytes = 0;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Strides strides;          // in elements; 0 on broadcast dimensions
  std::int64_t numel = 0;   // product of shape, kept because hot loops ask for it
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the op that made this tensor, if recorded
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- construction (none of these record a graph) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
  static Tensor scalar(double value, DType dtype = DType::Float32);
  // Values in row-major order; values.size() must equal the shape's element count.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::Float32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape);
  static Tensor arange(std::int64_t n, DType dtype = DType::Float32);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
  std::int64_t size(std::int64_t d) const;
  std::int64_t numel() const { return impl().numel; }
  DType dtype() const { return impl().dtype; }
  std::int64_t offset() const { return impl().offset; }
  bool is_contiguous() const;
  std::string describe() const;  // "float32 tensor of shape [2, 3]"

  // ---- data access ----
  // Pointer to the first element (storage + offset). T must match the dtype.
  template <typename T> T* data() const;
  void* raw_data() const;
  // The element at a multi-index, as double (works for every dtype and for views).
  double at(std::initializer_list<std::int64_t> index) const;
  double item() const;  // the single element of a one-element tensor
  // All elements in logical row-major order, converted to double / to T.
  std::vector<double> to_vector() const;
  std::vector<float> to_float_vector() const;
  std::vector<std::int64_t> to_index_vector() const;
  // A contiguous copy with another dtype (no graph recorded).
  Tensor to(DType dtype) const;
  // A contiguous copy (no graph recorded).
  Tensor copy() const;
  // Fills every element (no graph recorded; the tensor must not be a broadcast view).
  void fill_(double value);
  // Copies src's values into this tensor's elements (same shape; dtype converted).
  void copy_from_(const Tensor& src);
  // A view sharing storage with other shape/strides/offset (no graph recorded).
  Tensor as_strided(const Shape& shape, const Strides& strides, std::int64_t offset) const;

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as a parameter whose gradient backward() should accumulate.
  Tensor& set_requires_grad(bool value = true);
  Tensor grad() const { return Tensor(impl().grad); }
  void zero_grad() { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Reverse-mode backward from this tensor (defined in autograd/engine.cpp).
  // Without an argument the tensor must hold one element and its gradient is 1.
  void backward() const;
  void backward(const Tensor& grad_output) const;
  // Same storage, no graph: gradients do not flow through the result.
  Tensor detach() const;

  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  TensorImpl& impl() const {
    if (!impl_) throw_undefined();
    return *impl_;
  }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  [[noreturn]] static void throw_undefined();
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace ouro
