#include "ouro/ops/embedding.h"

#include "helpers.h"
#include "ouro/kernels/cpu/embedding.h"

namespace ouro {
using namespace ops_detail;

namespace {

struct EmbeddingBackward : Node {
  Tensor indices;  // int64, contiguous, all in range
  const char* name() const override { return "embedding"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    dispatch_floating(g.dtype(), "embedding", [&](auto tag) {
      using T = decltype(tag);
      kernels::embedding_backward<T>(g.data<T>(), indices.data<std::int64_t>(), buffer.data<T>(), indices.numel(),
                                     buffer.shape()[1]);
    });
  }
  void release() override { indices = Tensor(); }
};

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  check_floating("embedding", weight);
  OURO_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ",
             shape_str(weight.shape()));
  OURO_CHECK(indices.dtype() == DType::Int64, "embedding: indices must be int64, got a ", indices.describe());
  const std::int64_t rows = weight.shape()[0], d = weight.shape()[1];
  // A private copy: backward must see the indices that were checked, even if the caller reuses the tensor.
  const Tensor index = indices.copy();
  const std::int64_t* idx = index.data<std::int64_t>();
  for (std::int64_t i = 0, n = index.numel(); i < n; ++i)
    OURO_CHECK(idx[i] >= 0 && idx[i] < rows, "embedding: index ", idx[i], " is out of range [0, ", rows,
               ") for a weight of shape ", shape_str(weight.shape()));

  Shape shape = indices.shape();
  shape.push_back(d);
  const Tensor table = materialize(weight);
  Tensor out = Tensor::empty(shape, weight.dtype());
  dispatch_floating(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    kernels::embedding_forward<T>(table.data<T>(), idx, out.data<T>(), index.numel(), d);
  });
  if (auto node = record<EmbeddingBackward>(out, {weight})) node->indices = index;
  return out;
}

}  // namespace ouro
