#include "ouro/ops/linear.h"

#include <algorithm>
#include <vector>

#include "helpers.h"
#include "ouro/kernels/cpu/gemm.h"
#include "ouro/kernels/cpu/parallel.h"

namespace ouro {
using namespace ops_detail;

namespace {

// db (+)= the column sums of g [rows, cols], each column summed over the rows in order (the
// same sum for every thread count) and then added as a whole (as the GEMMs add dW and dx),
// the columns split over the threads.
template <typename T>
void column_sums(const T* g, std::int64_t rows, std::int64_t cols, bool assign, T* db) {
  constexpr std::int64_t kColumnBlock = 64;
  const std::int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  const int threads = blocks > 1 ? kernels::threads_for(rows * cols) : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t first = block * kColumnBlock, width = std::min(kColumnBlock, cols - first);
    T sums[kColumnBlock];
    for (std::int64_t o = 0; o < width; ++o) sums[o] = T(0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = g + r * cols + first;
#pragma omp simd
      for (std::int64_t o = 0; o < width; ++o) sums[o] += row[o];
    }
    for (std::int64_t o = 0; o < width; ++o) db[first + o] = assign ? sums[o] : db[first + o] + sums[o];
  }
}

struct LinearBackward : Node {
  Tensor x, weight;  // contiguous, detached
  std::int64_t rows = 0, in = 0, out = 0;
  const char* name() const override { return "linear"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    dispatch_floating(g.dtype(), "linear backward", [&](auto tag) {
      using T = decltype(tag);
      const T* gp = g.data<T>();
      bool fresh = false;  // a new gradient buffer is assigned (beta 0), an existing one added to
      if (sink.wants(0)) {  // dx[rows, in] (+)= g[rows, out] @ W[out, in]
        T* dx = sink.buffer_to_assign(0, fresh).data<T>();
        kernels::gemm(false, false, rows, in, out, T(1), gp, out, weight.data<T>(), in, fresh ? T(0) : T(1), dx, in);
      }
      // db = the column sums of g: when dW is wanted too they come out of the GEMM, which reads
      // every column of g once anyway to pack g^T (kernels::gemm's a_row_sums).
      std::vector<T> g_column_sums(sink.wants(1) && sink.wants(2) ? static_cast<std::size_t>(out) : 0);
      if (sink.wants(1)) {  // dW[out, in] (+)= g^T @ x
        T* dw = sink.buffer_to_assign(1, fresh).data<T>();
        kernels::gemm(true, false, out, in, rows, T(1), gp, out, x.data<T>(), in, fresh ? T(0) : T(1), dw, in,
                      nullptr, g_column_sums.empty() ? nullptr : g_column_sums.data());
      }
      if (sink.wants(2)) {
        T* db = sink.buffer_to_assign(2, fresh).data<T>();
        if (g_column_sums.empty())
          column_sums(gp, rows, out, fresh, db);
        else
          for (std::int64_t o = 0; o < out; ++o) db[o] = fresh ? g_column_sums[o] : db[o] + g_column_sums[o];
      }
    });
  }
  void release() override { x = weight = Tensor(); }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_same_dtype("linear", x, weight);
  check_floating("linear", x);
  OURO_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got shape ", shape_str(weight.shape()));
  const std::int64_t out = weight.size(0), in = weight.size(1);
  OURO_CHECK(x.dim() >= 1 && x.shape().back() == in, "linear: input of shape ", shape_str(x.shape()),
             " does not end in the weight's in-size ", in, " (weight ", shape_str(weight.shape()), ")");
  if (bias.defined()) {
    check_same_dtype("linear", x, bias);
    OURO_CHECK(bias.dim() == 1 && bias.size(0) == out, "linear: bias of shape ", shape_str(bias.shape()),
               " does not match the weight's out-size ", out);
  }
  const Tensor xc = materialize(x);
  const Tensor wc = materialize(weight);
  const std::int64_t rows = in == 0 ? 0 : xc.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, x.dtype());
  dispatch_floating(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    T* yp = y.data<T>();
    const Tensor bc = bias.defined() ? materialize(bias) : Tensor();
    // The bias is added as the product's tiles are stored (kernels::gemm's bias argument).
    kernels::gemm(false, true, rows, out, in, T(1), xc.data<T>(), in, wc.data<T>(), in, T(0), yp, out,
                  bc.defined() ? bc.data<T>() : nullptr);
  });
  if (auto node = record<LinearBackward>(y, {x, weight, bias})) {
    node->x = xc;
    node->weight = wc;
    node->rows = rows;
    node->in = in;
    node->out = out;
  }
  return y;
}

}  // namespace ouro
