#include "ouro/ops/linalg.h"

#include "helpers.h"
#include "ouro/kernels/cpu/gemm.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {
using namespace ops_detail;

namespace {

// One operand of a batched product as BLAS sees it: each matrix is either row-major
// (transposed = false) or the transpose of a row-major matrix, with leading dimension ld;
// batch_strides (one per output batch dimension, 0 where broadcast) locate each matrix.
struct MatrixOperand {
  Tensor storage_owner;  // keeps the memory alive (a copy when the strides were not BLAS-able)
  std::int64_t offset = 0;
  bool transposed = false;
  std::int64_t ld = 1;
  Strides batch_strides;
};

// Describes the last two dims of t for BLAS, copying only if neither dimension has unit stride.
// A size-1 dimension's stride never matters, so it is chosen to satisfy BLAS's ld rules.
MatrixOperand describe_matrix(const Tensor& t, const Shape& batch_shape) {
  const std::int64_t rank = t.dim();
  const std::int64_t rows = t.shape()[rank - 2], cols = t.shape()[rank - 1];
  const std::int64_t rs = t.strides()[rank - 2], cs = t.strides()[rank - 1];
  MatrixOperand m;
  m.storage_owner = t;
  const std::int64_t row_major_ld = rows <= 1 ? std::max<std::int64_t>(1, cols) : rs;
  const std::int64_t col_major_ld = cols <= 1 ? std::max<std::int64_t>(1, rows) : cs;
  if ((cs == 1 || cols <= 1) && row_major_ld >= std::max<std::int64_t>(1, cols)) {
    m.ld = row_major_ld;
  } else if ((rs == 1 || rows <= 1) && col_major_ld >= std::max<std::int64_t>(1, rows)) {
    m.transposed = true;
    m.ld = col_major_ld;
  } else {
    m.storage_owner = materialize(t);
    m.ld = std::max<std::int64_t>(1, cols);
  }
  const Tensor& owner = m.storage_owner;
  m.offset = owner.offset();
  // Batch strides against the broadcast batch shape.
  const std::size_t batch_rank = batch_shape.size();
  const std::size_t own_batch = static_cast<std::size_t>(rank - 2);
  m.batch_strides.assign(batch_rank, 0);
  for (std::size_t d = 0; d < own_batch; ++d)
    m.batch_strides[batch_rank - own_batch + d] = owner.shape()[d] == 1 ? 0 : owner.strides()[d];
  return m;
}

// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for every batch index b; `flip_*` uses the
// transpose of the stored operand (backward's A^T / B^T without copies).
template <typename T>
void batched_gemm(const Shape& batch_shape, const MatrixOperand& a, bool flip_a, const MatrixOperand& b, bool flip_b,
                  T* c, const Strides& c_batch_strides, std::int64_t ldc, std::int64_t m, std::int64_t n,
                  std::int64_t k, T beta) {
  const std::int64_t batches = shape_numel(batch_shape);
  const T* a_base = static_cast<const T*>(a.storage_owner.impl().storage->data) + a.offset;
  const T* b_base = static_cast<const T*>(b.storage_owner.impl().storage->data) + b.offset;
  std::vector<std::int64_t> pos(batch_shape.size(), 0);
  for (std::int64_t i = 0; i < batches; ++i) {
    std::int64_t ao = 0, bo = 0, co = 0;
    for (std::size_t d = 0; d < pos.size(); ++d) {
      ao += pos[d] * a.batch_strides[d];
      bo += pos[d] * b.batch_strides[d];
      co += pos[d] * c_batch_strides[d];
    }
    kernels::gemm(a.transposed != flip_a, b.transposed != flip_b, m, n, k, T(1), a_base + ao, a.ld, b_base + bo,
                  b.ld, beta, c + co, ldc);
    for (std::size_t d = pos.size(); d-- > 0;) {
      if (++pos[d] < batch_shape[d]) break;
      pos[d] = 0;
    }
  }
}

Strides batch_strides_of_contiguous(const Shape& shape, const Shape& batch_shape) {
  // A contiguous tensor of `shape` (rank >= 2), its batch dims aligned to batch_shape.
  const Strides full = contiguous_strides(shape);
  const std::size_t own = shape.size() - 2;
  Strides out(batch_shape.size(), 0);
  for (std::size_t d = 0; d < own; ++d) out[batch_shape.size() - own + d] = shape[d] == 1 ? 0 : full[d];
  return out;
}

struct MatmulBackward : Node {
  Tensor a, b;  // detached inputs (rank >= 2)
  Shape batch_shape;
  const char* name() const override { return "matmul"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    const std::int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1], n = b.shape()[b.dim() - 1];
    const MatrixOperand go = describe_matrix(g, batch_shape);
    dispatch_floating(g.dtype(), "matmul backward", [&](auto tag) {
      using T = decltype(tag);
      if (sink.wants(0)) {  // dA += G @ B^T, summed over broadcast batches by beta = 1
        Tensor& buffer = sink.buffer(0);
        const MatrixOperand bo = describe_matrix(b, batch_shape);
        batched_gemm<T>(batch_shape, go, false, bo, true, buffer.data<T>(),
                        batch_strides_of_contiguous(a.shape(), batch_shape), k, m, k, n, T(1));
      }
      if (sink.wants(1)) {  // dB += A^T @ G
        Tensor& buffer = sink.buffer(1);
        const MatrixOperand ao = describe_matrix(a, batch_shape);
        batched_gemm<T>(batch_shape, ao, true, go, false, buffer.data<T>(),
                        batch_strides_of_contiguous(b.shape(), batch_shape), n, k, n, m, T(1));
      }
    });
  }
  void release() override { a = b = Tensor(); }
};

Tensor matmul_2d_or_batched(const Tensor& a, const Tensor& b) {
  const std::int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  const std::int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  OURO_CHECK(k == k2, "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch_shape = broadcast_shapes(a_batch, b_batch, "matmul (batch dimensions)");
  Shape out_shape = batch_shape;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  if (k == 0) {
    out.fill_(0);
  } else {
    const MatrixOperand ao = describe_matrix(a, batch_shape), bo = describe_matrix(b, batch_shape);
    dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
      using T = decltype(tag);
      batched_gemm<T>(batch_shape, ao, false, bo, false, out.data<T>(),
                      batch_strides_of_contiguous(out_shape, batch_shape), n, m, n, k, T(0));
    });
  }
  if (auto node = record<MatmulBackward>(out, {a, b})) {
    node->a = a.detach();
    node->b = b.detach();
    node->batch_shape = batch_shape;
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_dtype("matmul", a, b);
  check_floating("matmul", a);
  OURO_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dimension, got ",
             shape_str(a.shape()), " @ ", shape_str(b.shape()));
  // NumPy's promotion of vectors: [k] @ [.., k, n] -> [.., n]; [.., m, k] @ [k] -> [.., m].
  if (a.dim() == 1 && b.dim() == 1) {
    OURO_CHECK(a.shape()[0] == b.shape()[0], "matmul: inner dimensions differ: ", shape_str(a.shape()), " @ ",
               shape_str(b.shape()));
    return reshape(matmul_2d_or_batched(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  }
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  return matmul_2d_or_batched(a, b);
}

}  // namespace ouro
