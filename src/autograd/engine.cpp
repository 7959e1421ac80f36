#include "ouro/autograd/engine.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ouro/autograd/node.h"
#include "ouro/kernels/cpu/elementwise.h"
#include "ouro/kernels/cpu/parallel.h"
#include "ouro/kernels/cpu/reduce.h"

namespace ouro {

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void attach_node(Tensor& output, const std::shared_ptr<Node>& node, std::vector<Tensor> inputs) {
  for (Tensor& t : inputs)
    if (t.defined() && !t.requires_grad()) t = Tensor();
  node->inputs = std::move(inputs);
  output.impl().grad_fn = node;
  output.impl().requires_grad = true;
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const std::int64_t rank = g.dim();
  const std::int64_t lead = rank - static_cast<std::int64_t>(shape.size());
  OURO_CHECK(lead >= 0, "sum_to_shape: cannot reduce ", g.describe(), " to ", shape_str(shape));
  kernels::ReduceLayout layout;
  for (std::int64_t d = 0; d < rank; ++d) {
    const bool reduced = d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1);
    OURO_CHECK(reduced || d < lead || shape[d - lead] == g.shape()[d], "sum_to_shape: cannot reduce ", g.describe(),
               " to ", shape_str(shape));
    if (reduced) {
      layout.reduced_shape.push_back(g.shape()[d]);
      layout.reduced_strides.push_back(g.strides()[d]);
    } else {
      layout.kept_shape.push_back(g.shape()[d]);
      layout.kept_strides.push_back(g.strides()[d]);
    }
  }
  Tensor out = Tensor::empty(shape, g.dtype());
  dispatch_floating(g.dtype(), "sum_to_shape", [&](auto tag) {
    using T = decltype(tag);
    kernels::reduce_sum<T>(g.data<T>(), layout, out.data<T>(), 1.0);
  });
  return out;
}

namespace {

class EngineSink : public GradientSink {
 public:
  EngineSink(Node& node, std::unordered_map<Node*, Tensor>& grads) : node_(node), grads_(grads) {}

  bool wants(std::size_t input) const override {
    return input < node_.inputs.size() && node_.inputs[input].defined();
  }

  Tensor& buffer(std::size_t input) override {
    bool fresh = false;
    Tensor& slot = find_or_make(input, fresh);
    if (fresh) zero_fill(slot);
    return slot;
  }

  Tensor& buffer_to_assign(std::size_t input, bool& fresh) override { return find_or_make(input, fresh); }

  void accumulate(std::size_t input, const Tensor& g) override {
    OURO_CHECK(wants(input), "backward of ", node_.name(), ": input ", input, " does not take a gradient");
    if (const TensorImpl& target = node_.inputs[input].impl(); target.grad_fn) {
      Tensor& slot = grads_[target.grad_fn.get()];
      if (!slot.defined() && owned_by_caller_alone(g, target)) {  // g becomes the slot: no copy
        slot = g;
        return;
      }
    }
    bool fresh = false;
    Tensor& dst = buffer_to_assign(input, fresh);
    OURO_CHECK(g.dtype() == dst.dtype(), "backward of ", node_.name(), ": gradient dtype ", dtype_name(g.dtype()),
               " differs from input dtype ", dtype_name(dst.dtype()));
    const Tensor reduced = sum_to_shape(g, dst.shape());
    dispatch_floating(dst.dtype(), "backward", [&](auto tag) {
      using T = decltype(tag);
      // The first gradient is copied in, later ones added.
      if (reduced.is_contiguous() && fresh) {
        kernels::unary_map<T, T>(reduced.data<T>(), dst.data<T>(), dst.numel(), [](T v) { return v; });
      } else if (reduced.is_contiguous()) {
        kernels::add_into<T>(dst.data<T>(), reduced.data<T>(), dst.numel());
      } else {  // e.g. the gradient of a permute: through its strides, no copy
        const T* src = static_cast<const T*>(reduced.impl().storage->data) + reduced.offset();
        if (fresh)
          kernels::strided_transfer<T, false>(dst.dim(), dst.shape().data(), dst.data<T>(), dst.strides().data(), src,
                                              reduced.strides().data());
        else
          kernels::strided_transfer<T, true>(dst.dim(), dst.shape().data(), dst.data<T>(), dst.strides().data(), src,
                                             reduced.strides().data());
      }
    });
  }

 private:
  // Input i's gradient slot: an intermediate's in the engine's map, a leaf's in its .grad
  // (which persists across backward calls and accumulates, as in PyTorch). A slot made here
  // is uninitialised and sets `fresh`.
  Tensor& find_or_make(std::size_t input, bool& fresh) {
    OURO_CHECK(wants(input), "backward of ", node_.name(), ": input ", input, " does not take a gradient");
    TensorImpl& impl = node_.inputs[input].impl();
    fresh = false;
    if (impl.grad_fn) {
      Tensor& slot = grads_[impl.grad_fn.get()];
      if (!slot.defined()) {
        slot = Tensor::empty(impl.shape, impl.dtype);
        fresh = true;
      }
      return slot;
    }
    if (!impl.grad) {
      impl.grad = Tensor::empty(impl.shape, impl.dtype).impl_ptr();
      fresh = true;
    }
    leaf_slot_ = Tensor(impl.grad);
    return leaf_slot_;
  }

  // True when g can become an intermediate's new gradient slot as it is: the target's shape
  // and dtype, contiguous over its whole storage, and referenced by no one but the caller (the
  // tensor and its storage each held once), so that adding later gradients into it in place
  // cannot change what any other tensor sees. An add's gradient goes to its first input this
  // way; the second input, finding g now shared, gets a copy.
  static bool owned_by_caller_alone(const Tensor& g, const TensorImpl& target) {
    const auto& impl = g.impl_ptr();
    return g.shape() == target.shape && g.dtype() == target.dtype && g.is_contiguous() && g.offset() == 0 &&
           impl.use_count() == 1 && impl->storage.use_count() == 1 && !impl->grad_fn &&
           impl->storage->nbytes == static_cast<std::size_t>(g.numel()) * dtype_size(g.dtype());
  }

  // Zeros a new slot, over the threads for a large one.
  static void zero_fill(Tensor& slot) {
    dispatch_floating(slot.dtype(), "backward", [&](auto tag) {
      using T = decltype(tag);
      T* p = slot.data<T>();
      const std::int64_t n = slot.numel();
      const int threads = kernels::threads_for(n);
#pragma omp parallel for simd schedule(static) num_threads(threads) if (parallel : threads > 1)
      for (std::int64_t i = 0; i < n; ++i) p[i] = T(0);
    });
  }

  Node& node_;
  std::unordered_map<Node*, Tensor>& grads_;
  Tensor leaf_slot_;
};

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output) {
  OURO_CHECK(root.requires_grad(), "backward: the ", root.describe(),
             " does not require grad (no input of the ops that made it has requires_grad set)");
  Tensor seed;
  if (grad_output.defined()) {
    OURO_CHECK(grad_output.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad_output.shape()),
               " given for a tensor of shape ", shape_str(root.shape()));
    seed = grad_output.to(root.dtype());
  } else {
    OURO_CHECK(root.numel() == 1, "backward: without a gradient argument the tensor must hold one element, got a ",
               root.describe());
    seed = Tensor::ones(root.shape(), root.dtype());
  }

  if (root.is_leaf()) {  // backward on a parameter itself: its gradient is the seed
    TensorImpl& impl = root.impl();
    if (!impl.grad) impl.grad = Tensor::zeros(impl.shape, impl.dtype).impl_ptr();
    Tensor g(impl.grad);
    dispatch_floating(g.dtype(), "backward", [&](auto tag) {
      using T = decltype(tag);
      kernels::add_into<T>(g.data<T>(), seed.data<T>(), g.numel());
    });
    return;
  }

  Node* start = root.grad_fn().get();
  OURO_CHECK(!start->released, "backward: the graph of this ", root.describe(),
             " was already freed by an earlier backward() call");

  // Reverse topological order by an iterative depth-first search (recurrent nets make
  // graphs thousands of nodes deep, too deep for recursion).
  // Shared pointers keep every node alive until the walk ends, although releasing a node
  // drops the tensors (and so the nodes) it referenced.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root.grad_fn(), 0}};
  seen.insert(start);
  while (!stack.empty()) {
    auto& top = stack.back();
    if (top.second < top.first->inputs.size()) {
      const Tensor& input = top.first->inputs[top.second++];
      if (!input.defined() || !input.grad_fn()) continue;
      const std::shared_ptr<Node>& child = input.grad_fn();
      OURO_CHECK(!child->released, "backward: part of the graph (", child->name(),
                 ") was already freed by an earlier backward() call");
      if (seen.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(std::move(top.first));
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());

  // Backward formulas use ops on detached tensors; nothing they compute is recorded.
  NoGradGuard no_grad;
  std::unordered_map<Node*, Tensor> grads;
  grads[start] = seed;
  for (const std::shared_ptr<Node>& node : order) {
    auto it = grads.find(node.get());
    if (it != grads.end()) {
      Tensor g = std::move(it->second);
      grads.erase(it);
      EngineSink sink(*node, grads);
      node->backward(g, sink);
    }
    node->release();
    node->inputs.clear();
    node->released = true;
  }
}

void Tensor::backward() const { run_backward(*this, Tensor()); }
void Tensor::backward(const Tensor& grad_output) const { run_backward(*this, grad_output); }

}  // namespace ouro
