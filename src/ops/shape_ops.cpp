#include "ouro/ops/shape_ops.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>

#include "helpers.h"
#include "ouro/autograd/engine.h"

namespace ouro {
using namespace ops_detail;

namespace {

// --- views -----------------------------------------------------------------------------

// The gradient of a view that keeps every element once (reshape, permute, squeeze...):
// the output gradient, seen through `to_input`, is the input gradient.
struct ViewBackward : Node {
  const char* op = "view";
  Shape input_shape;
  // Maps the (contiguous) output gradient back onto the input's shape.
  std::function<Tensor(const Tensor&)> to_input;
  const char* name() const override { return op; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) sink.accumulate(0, to_input(g));
  }
};

Tensor record_view(const char* op, Tensor out, const Tensor& x, std::function<Tensor(const Tensor&)> to_input) {
  if (auto node = record<ViewBackward>(out, {x})) {
    node->op = op;
    node->input_shape = x.shape();
    node->to_input = std::move(to_input);
  }
  return out;
}

// The gradient of a view that picks a window of the input (slice, narrow): added into the
// same window of the input's gradient.
struct WindowBackward : Node {
  const char* op = "slice";
  Strides window_strides;      // of the window, in a contiguous tensor of the input's shape
  std::int64_t window_offset = 0;
  const char* name() const override { return op; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    dispatch_floating(buffer.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      kernels::strided_transfer<T, true>(g.dim(), g.shape().data(), buffer.data<T>() + window_offset,
                                         window_strides.data(), g.data<T>(), g.strides().data());
    });
  }
};

Shape infer_shape(const char* op, const Shape& requested, std::int64_t numel, const Shape& from) {
  Shape shape = requested;
  std::int64_t known = 1, infer_at = -1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      OURO_CHECK(infer_at < 0, op, ": only one size may be -1, got ", shape_str(requested));
      infer_at = static_cast<std::int64_t>(d);
    } else {
      OURO_CHECK(shape[d] >= 0, op, ": negative size in ", shape_str(requested));
      // The known sizes must not overflow either; a product past numel cannot fit anyway.
      OURO_CHECK(shape[d] == 0 || known <= std::numeric_limits<std::int64_t>::max() / shape[d], op,
                 ": the sizes in ", shape_str(requested), " overflow 64 bits");
      known *= shape[d];
    }
  }
  if (infer_at >= 0) {
    OURO_CHECK(known > 0 && numel % known == 0, op, ": cannot infer -1 in ", shape_str(requested), " for ",
               numel, " elements (input shape ", shape_str(from), ")");
    shape[infer_at] = numel / known;
  }
  OURO_CHECK(shape_numel(shape) == numel, op, ": cannot view shape ", shape_str(from), " (", numel,
             " elements) as ", shape_str(requested));
  return shape;
}

// Strides that let x be seen as `shape` without copying, if any (as torch's computeStride).
bool view_strides(const Tensor& x, const Shape& shape, Strides& out) {
  if (x.is_contiguous()) {
    out = contiguous_strides(shape);
    return true;
  }
  const Shape& old_shape = x.shape();
  const Strides& old_strides = x.strides();
  out.assign(shape.size(), 0);
  if (x.numel() == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  // Walk chunks of old dimensions that are mutually contiguous and match them to new dims.
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& requested) {
  const Shape shape = infer_shape("view", requested, x.numel(), x.shape());
  Strides strides;
  OURO_CHECK(view_strides(x, shape, strides), "view: a tensor of shape ", shape_str(x.shape()), " with strides ",
             shape_str(x.strides()), " cannot be viewed as ", shape_str(shape), " without a copy (use reshape)");
  Tensor out = x.as_strided(shape, strides, x.offset());
  const Shape in_shape = x.shape();
  return record_view("view", out, x, [in_shape](const Tensor& g) {
    return g.as_strided(in_shape, contiguous_strides(in_shape), g.offset());
  });
}

Tensor reshape(const Tensor& x, const Shape& requested) {
  const Shape shape = infer_shape("reshape", requested, x.numel(), x.shape());
  Strides strides;
  if (view_strides(x, shape, strides)) return view(x, shape);
  return view(contiguous(x), shape);
}

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const std::int64_t start = normalize_dim(start_dim, x.dim(), "flatten");
  const std::int64_t end = normalize_dim(end_dim, x.dim(), "flatten");
  OURO_CHECK(start <= end, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  std::int64_t merged = 1;
  for (std::int64_t d = start; d <= end; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<std::int64_t>& order) {
  const std::int64_t rank = x.dim();
  OURO_CHECK(static_cast<std::int64_t>(order.size()) == rank, "permute: order of ", order.size(),
             " dimensions given for a tensor of shape ", shape_str(x.shape()));
  std::vector<std::int64_t> fixed(order.size()), inverse(order.size());
  std::vector<bool> used(order.size(), false);
  Shape shape(order.size());
  Strides strides(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    fixed[i] = normalize_dim(order[i], rank, "permute");
    OURO_CHECK(!used[fixed[i]], "permute: dimension ", order[i], " appears twice in ", shape_str(order));
    used[fixed[i]] = true;
    inverse[fixed[i]] = static_cast<std::int64_t>(i);
    shape[i] = x.shape()[fixed[i]];
    strides[i] = x.strides()[fixed[i]];
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  return record_view("permute", out, x, [inverse](const Tensor& g) {
    Shape s(inverse.size());
    Strides st(inverse.size());
    for (std::size_t i = 0; i < inverse.size(); ++i) {
      s[i] = g.shape()[inverse[i]];
      st[i] = g.strides()[inverse[i]];
    }
    return g.as_strided(s, st, g.offset());
  });
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(x.dim()));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_dim(dim0, x.dim(), "transpose")], order[normalize_dim(dim1, x.dim(), "transpose")]);
  return permute(x, order);
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  OURO_CHECK(x.shape()[d] == 1, "squeeze: dimension ", dim, " of shape ", shape_str(x.shape()), " has size ",
             x.shape()[d], ", not 1");
  Shape shape = x.shape();
  shape.erase(shape.begin() + d);
  return view(x, shape);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  const std::int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Tensor out = x.as_strided(shape, strides, x.offset());
  const Shape in_shape = x.shape();
  return record_view("unsqueeze", out, x, [in_shape](const Tensor& g) {
    return g.as_strided(in_shape, contiguous_strides(in_shape), g.offset());
  });
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "slice");
  OURO_CHECK(step > 0, "slice: step must be positive, got ", step);
  const std::int64_t size = x.shape()[d];
  // A step past the size picks one element either way; capping it keeps stride * step in range.
  step = std::min(step, std::max<std::int64_t>(size, 1));
  auto clip = [size](std::int64_t i) { return std::clamp(i < 0 ? i + size : i, std::int64_t{0}, size); };
  const std::int64_t lo = clip(start), hi = std::max(clip(end), clip(start));
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape[d] = hi == lo ? 0 : (hi - lo - 1) / step + 1;  // ceil((hi - lo) / step) without overflow for huge steps
  strides[d] *= step;
  Tensor out = x.as_strided(shape, strides, x.offset() + lo * x.strides()[d]);
  if (auto node = record<WindowBackward>(out, {x})) {
    Strides window = contiguous_strides(x.shape());
    node->window_offset = lo * window[d];
    window[d] *= step;
    node->window_strides = window;
    node->op = "slice";
  }
  return out;
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.shape()[d];
  const std::int64_t s = start < 0 ? start + size : start;
  OURO_CHECK(s >= 0 && s <= size && length >= 0 && length <= size - s, "narrow: start ", start, " and length ", length,
             " do not fit in dimension ", dim, " of shape ", shape_str(x.shape()));
  return slice(x, d, s, s + length, 1);
}

Tensor expand(const Tensor& x, const Shape& requested) {
  const std::int64_t rank = static_cast<std::int64_t>(requested.size());
  OURO_CHECK(rank >= x.dim(), "expand: cannot expand shape ", shape_str(x.shape()), " to fewer dimensions ",
             shape_str(requested));
  const std::int64_t lead = rank - x.dim();
  Shape shape(requested.size());
  Strides strides(requested.size(), 0);
  for (std::int64_t d = 0; d < rank; ++d) {
    if (d < lead) {
      OURO_CHECK(requested[d] >= 0, "expand: size -1 is not allowed for a new leading dimension in ",
                 shape_str(requested));
      shape[d] = requested[d];
      continue;
    }
    const std::int64_t have = x.shape()[d - lead];
    const std::int64_t want = requested[d] == -1 ? have : requested[d];
    OURO_CHECK(want == have || have == 1, "expand: dimension ", d, " of shape ", shape_str(x.shape()),
               " has size ", have, " and cannot be expanded to ", shape_str(requested));
    shape[d] = want;
    strides[d] = want == have ? x.strides()[d - lead] : 0;
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  const Shape in_shape = x.shape();
  return record_view("expand", out, x, [in_shape](const Tensor& g) { return sum_to_shape(g, in_shape); });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = materialize(x);
  return record_view("contiguous", out, x, [](const Tensor& g) { return g; });
}

// --- joining and splitting --------------------------------------------------------------

namespace {

struct ConcatBackward : Node {
  std::int64_t dim = 0;
  std::vector<std::int64_t> sizes;
  const char* name() const override { return "concat"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    std::int64_t start = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (sink.wants(i)) {
        Shape shape = g.shape();
        shape[dim] = sizes[i];
        sink.accumulate(i, g.as_strided(shape, g.strides(), g.offset() + start * g.strides()[dim]));
      }
      start += sizes[i];
    }
  }
};

}  // namespace

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  OURO_CHECK(!tensors.empty(), "concat: expected at least one tensor");
  const Tensor& first = tensors.front();
  const std::int64_t d = normalize_dim(dim, first.dim(), "concat");
  Shape shape = first.shape();
  shape[d] = 0;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_dtype("concat", first, t);
    bool match = t.dim() == first.dim();
    for (std::int64_t k = 0; match && k < t.dim(); ++k)
      if (k != d && t.shape()[k] != first.shape()[k]) match = false;
    OURO_CHECK(match, "concat: tensor ", i, " has shape ", shape_str(t.shape()), ", which differs from tensor 0's ",
               shape_str(first.shape()), " outside dimension ", dim);
    sizes.push_back(t.shape()[d]);
    shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(shape, first.dtype());
  std::int64_t start = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    dispatch_all(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      kernels::strided_transfer<T, false>(t.dim(), t.shape().data(), out.data<T>() + start * out.strides()[d],
                                          out.strides().data(), base_pointer<T>(t), t.strides().data());
    });
    start += sizes[i];
  }
  if (auto node = record<ConcatBackward>(out, tensors)) {
    node->dim = d;
    node->sizes = sizes;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  OURO_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  const std::int64_t d = normalize_dim(dim, tensors.front().dim() + 1, "stack");
  std::vector<Tensor> pieces;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    OURO_CHECK(tensors[i].shape() == tensors.front().shape(), "stack: tensor ", i, " has shape ",
               shape_str(tensors[i].shape()), " but tensor 0 has ", shape_str(tensors.front().shape()));
    pieces.push_back(unsqueeze(tensors[i], d));
  }
  return concat(pieces, d);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t size, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "split");
  OURO_CHECK(size > 0, "split: piece size must be positive, got ", size);
  std::vector<std::int64_t> sizes;
  for (std::int64_t start = 0; start < x.shape()[d]; start += size) sizes.push_back(std::min(size, x.shape()[d] - start));
  return split(x, sizes, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "split");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    OURO_CHECK(s >= 0, "split: negative piece size in ", shape_str(sizes));
    total += s;
  }
  OURO_CHECK(total == x.shape()[d], "split: sizes ", shape_str(sizes), " add up to ", total, ", but dimension ", dim,
             " of shape ", shape_str(x.shape()), " has ", x.shape()[d]);
  std::vector<Tensor> pieces;
  std::int64_t start = 0;
  for (std::int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

// --- indexing ---------------------------------------------------------------------------

namespace {

void check_index_tensor(const char* op, const Tensor& index) {
  OURO_CHECK(index.dtype() == DType::Int64, op, ": index must be int64, got a ", index.describe());
}

// [outer, size, inner] decomposition of a contiguous shape around dim.
struct AroundDim {
  std::int64_t outer = 1, size = 1, inner = 1;
};
AroundDim around(const Shape& shape, std::int64_t dim) {
  AroundDim a;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    if (d < dim) a.outer *= shape[d];
    else if (d == dim) a.size = shape[d];
    else a.inner *= shape[d];
  }
  return a;
}

struct IndexSelectBackward : Node {
  std::int64_t dim = 0;
  Tensor index;
  const char* name() const override { return "index_select"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    const AroundDim in = around(buffer.shape(), dim);
    const std::int64_t* idx = index.data<std::int64_t>();
    const std::int64_t count = index.numel();
    dispatch_floating(buffer.dtype(), "index_select backward", [&](auto tag) {
      using T = decltype(tag);
      T* dst = buffer.data<T>();
      const T* gp = g.data<T>();
      // Parallel over `outer` only: rows with a repeated index then add in a fixed order.
      const int threads = kernels::threads_for(g.numel());
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && in.outer > 1)
      for (std::int64_t o = 0; o < in.outer; ++o)
        for (std::int64_t j = 0; j < count; ++j) {
          T* row = dst + (o * in.size + idx[j]) * in.inner;
          const T* grow = gp + (o * count + j) * in.inner;
          for (std::int64_t k = 0; k < in.inner; ++k) row[k] += grow[k];
        }
    });
  }
  void release() override { index = Tensor(); }
};

// Offsets into a contiguous tensor of shape `full` for each element of `index` (same rank),
// with the dim coordinate replaced by the index value. Checks the range.
std::vector<std::int64_t> scatter_offsets(const char* op, const Shape& full, const Tensor& index, std::int64_t dim) {
  const Tensor idx = materialize(index);
  const std::int64_t* values = idx.data<std::int64_t>();
  const Strides strides = contiguous_strides(full);
  const std::int64_t rank = static_cast<std::int64_t>(full.size());
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(idx.numel()));
  std::vector<std::int64_t> pos(static_cast<std::size_t>(rank), 0);
  for (std::int64_t i = 0; i < idx.numel(); ++i) {
    const std::int64_t v = values[i];
    OURO_CHECK(v >= 0 && v < full[dim], op, ": index ", v, " is out of range for dimension ", dim, " of size ",
               full[dim]);
    std::int64_t off = 0;
    for (std::int64_t d = 0; d < rank; ++d) off += (d == dim ? v : pos[d]) * strides[d];
    offsets[i] = off;
    for (std::int64_t d = rank - 1; d >= 0; --d) {
      if (++pos[d] < index.shape()[d]) break;
      pos[d] = 0;
    }
  }
  return offsets;
}

void check_gather_shapes(const char* op, const Shape& x, const Tensor& index, std::int64_t dim) {
  OURO_CHECK(index.dim() == static_cast<std::int64_t>(x.size()), op, ": index of shape ", shape_str(index.shape()),
             " must have the same rank as the input ", shape_str(x));
  for (std::int64_t d = 0; d < index.dim(); ++d)
    OURO_CHECK(d == dim || index.shape()[d] <= x[d], op, ": index of shape ", shape_str(index.shape()),
               " is larger than the input ", shape_str(x), " in dimension ", d);
}

struct GatherBackward : Node {
  std::vector<std::int64_t> offsets;
  const char* name() const override { return "gather"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (!sink.wants(0)) return;
    Tensor& buffer = sink.buffer(0);
    dispatch_floating(buffer.dtype(), "gather backward", [&](auto tag) {
      using T = decltype(tag);
      T* dst = buffer.data<T>();
      const T* gp = g.data<T>();
      for (std::size_t i = 0; i < offsets.size(); ++i) dst[offsets[i]] += gp[i];
    });
  }
};

struct ScatterAddBackward : Node {
  std::vector<std::int64_t> offsets;
  Shape src_shape;
  const char* name() const override { return "scatter_add"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(0)) sink.accumulate(0, g);
    if (!sink.wants(2)) return;
    Tensor& buffer = sink.buffer(2);  // src's gradient: gather of g at the scattered positions
    dispatch_floating(buffer.dtype(), "scatter_add backward", [&](auto tag) {
      using T = decltype(tag);
      T* dst = buffer.data<T>();
      const T* gp = g.data<T>();
      const Strides src_strides = contiguous_strides(src_shape);
      // offsets run over the index's elements; map each to its place in src (same row-major position when
      // index and src share a shape, else through the index's coordinates).
      std::vector<std::int64_t> pos(src_shape.size(), 0);
      for (std::size_t i = 0; i < offsets.size(); ++i) {
        std::int64_t off = 0;
        for (std::size_t d = 0; d < pos.size(); ++d) off += pos[d] * src_strides[d];
        dst[off] += gp[offsets[i]];
        for (std::size_t d = pos.size(); d-- > 0;) {
          if (++pos[d] < index_shape[d]) break;
          pos[d] = 0;
        }
      }
    });
  }
  Shape index_shape;
};

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_index_tensor("index_select", index);
  OURO_CHECK(index.dim() == 1, "index_select: index must be 1-D, got shape ", shape_str(index.shape()));
  const std::int64_t d = normalize_dim(dim, x.dim(), "index_select");
  const Tensor idx = materialize(index);
  const std::int64_t* values = idx.data<std::int64_t>();
  for (std::int64_t j = 0; j < idx.numel(); ++j)
    OURO_CHECK(values[j] >= 0 && values[j] < x.shape()[d], "index_select: index ", values[j],
               " is out of range for dimension ", dim, " of shape ", shape_str(x.shape()));
  const Tensor input = materialize(x);
  Shape shape = x.shape();
  shape[d] = idx.numel();
  Tensor out = Tensor::empty(shape, x.dtype());
  const AroundDim in = around(x.shape(), d);
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = input.data<T>();
    T* dst = out.data<T>();
    const std::int64_t count = idx.numel();
    const int threads = kernels::threads_for(out.numel());
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t o = 0; o < in.outer; ++o)
      for (std::int64_t j = 0; j < count; ++j)
        std::copy_n(src + (o * in.size + values[j]) * in.inner, in.inner, dst + (o * count + j) * in.inner);
  });
  if (auto node = record<IndexSelectBackward>(out, {x})) {
    node->dim = d;
    node->index = idx;
  }
  return out;
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_index_tensor("gather", index);
  const std::int64_t d = normalize_dim(dim, x.dim(), "gather");
  check_gather_shapes("gather", x.shape(), index, d);
  std::vector<std::int64_t> offsets = scatter_offsets("gather", x.shape(), index, d);
  const Tensor input = materialize(x);
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = input.data<T>();
    T* dst = out.data<T>();
    for (std::size_t i = 0; i < offsets.size(); ++i) dst[i] = src[offsets[i]];
  });
  if (auto node = record<GatherBackward>(out, {x})) node->offsets = std::move(offsets);
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  check_index_tensor("scatter_add", index);
  check_same_dtype("scatter_add", x, src);
  const std::int64_t d = normalize_dim(dim, x.dim(), "scatter_add");
  check_gather_shapes("scatter_add", x.shape(), index, d);
  OURO_CHECK(src.dim() == index.dim(), "scatter_add: src of shape ", shape_str(src.shape()),
             " must have the rank of the index ", shape_str(index.shape()));
  for (std::int64_t k = 0; k < index.dim(); ++k)
    OURO_CHECK(index.shape()[k] <= src.shape()[k], "scatter_add: index of shape ", shape_str(index.shape()),
               " is larger than src ", shape_str(src.shape()), " in dimension ", k);
  std::vector<std::int64_t> offsets = scatter_offsets("scatter_add", x.shape(), index, d);
  // A fresh contiguous tensor to add into: materialize already copies a view, so copy only
  // when it returned x's own memory.
  Tensor out = x.is_contiguous() ? x.copy() : materialize(x);
  const Tensor source = materialize(src);
  dispatch_floating(x.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.data<T>();
    const T* sp = source.data<T>();
    const Strides src_strides = contiguous_strides(src.shape());
    std::vector<std::int64_t> pos(static_cast<std::size_t>(index.dim()), 0);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      std::int64_t off = 0;
      for (std::size_t k = 0; k < pos.size(); ++k) off += pos[k] * src_strides[k];
      dst[offsets[i]] += sp[off];
      for (std::size_t k = pos.size(); k-- > 0;) {
        if (++pos[k] < index.shape()[k]) break;
        pos[k] = 0;
      }
    }
  });
  if (auto node = record<ScatterAddBackward>(out, {x, Tensor(), src})) {
    node->offsets = std::move(offsets);
    node->src_shape = src.shape();
    node->index_shape = index.shape();
  }
  return out;
}

namespace {

struct WhereBackward : Node {
  Tensor condition;  // float mask, 1 where true, broadcast to the output's shape, contiguous
  const char* name() const override { return "where"; }
  void backward(const Tensor& g, GradientSink& sink) override {
    if (sink.wants(1))
      sink.accumulate(1, broadcast_binary("where backward", g, condition, [](auto gv, auto c) { return c != 0 ? gv : decltype(gv)(0); }));
    if (sink.wants(2))
      sink.accumulate(2, broadcast_binary("where backward", g, condition, [](auto gv, auto c) { return c != 0 ? decltype(gv)(0) : gv; }));
  }
  void release() override { condition = Tensor(); }
};

}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_same_dtype("where", a, b);
  check_floating("where", a);
  const Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  // The condition as a 0/1 mask of the values' dtype, materialised at the output's shape.
  Tensor mask = Tensor::empty(shape, a.dtype());
  {
    const Tensor cond = materialize(expand(condition.detach(), shape));
    const std::vector<double> flags = cond.to_vector();
    dispatch_floating(a.dtype(), "where", [&](auto tag) {
      using T = decltype(tag);
      T* m = mask.data<T>();
      for (std::size_t i = 0; i < flags.size(); ++i) m[i] = flags[i] != 0 ? T(1) : T(0);
    });
  }
  Tensor out = Tensor::empty(shape, a.dtype());
  const Tensor aa = materialize(expand(a.detach(), shape));
  const Tensor bb = materialize(expand(b.detach(), shape));
  dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const T* m = mask.data<T>();
    const T* pa = aa.data<T>();
    const T* pb = bb.data<T>();
    T* o = out.data<T>();
    for (std::int64_t i = 0, n = out.numel(); i < n; ++i) o[i] = m[i] != 0 ? pa[i] : pb[i];
  });
  if (auto node = record<WhereBackward>(out, {Tensor(), a, b})) node->condition = mask;
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return where(mask, Tensor::scalar(value, x.dtype()), x);
}

}  // namespace ouro
