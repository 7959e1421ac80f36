// Node: one recorded op in the graph. Its backward receives the gradient of the op's output
// and adds (never assigns) the gradients of its inputs into buffers the engine hands out.
#pragma once
#include <memory>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// Where a node puts its inputs' gradients.
class GradientSink {
 public:
  virtual ~GradientSink() = default;
  // True when input i wants a gradient (it requires grad).
  virtual bool wants(std::size_t input) const = 0;
  // A contiguous buffer of input i's shape and dtype, zero on first request, to add into.
  virtual Tensor& buffer(std::size_t input) = 0;
  // The same buffer for a kernel that sets every element of it. When input i has no gradient
  // yet the buffer comes uninitialised and `fresh` is set: the kernel must then assign each
  // element instead of adding (which saves the zero fill and a read of every element). When
  // `fresh` is false it is buffer(i), holding earlier gradients to add to.
  virtual Tensor& buffer_to_assign(std::size_t input, bool& fresh) = 0;
  // Adds g into input i's gradient; g may have the op's broadcast shape, in which case it is
  // summed over the broadcast dimensions first.
  virtual void accumulate(std::size_t input, const Tensor& g) = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // grad_output is contiguous, with the shape and dtype of the op's output.
  virtual void backward(const Tensor& grad_output, GradientSink& sink) = 0;
  // Drops what the node saved for backward; called once its backward has run.
  virtual void release() {}

  // The op's inputs, by position; undefined where that input needs no gradient.
  std::vector<Tensor> inputs;
  bool released = false;
};

// Records `node` as the maker of `output` if grad mode is on and any input requires grad.
// Returns the node (for the op to save what its backward needs) or nullptr.
template <typename NodeType>
std::shared_ptr<NodeType> record(Tensor& output, std::vector<Tensor> inputs);

bool any_requires_grad(const std::vector<Tensor>& inputs);
void attach_node(Tensor& output, const std::shared_ptr<Node>& node, std::vector<Tensor> inputs);

}  // namespace ouro

#include "ouro/autograd/grad_mode.h"

namespace ouro {
template <typename NodeType>
std::shared_ptr<NodeType> record(Tensor& output, std::vector<Tensor> inputs) {
  if (!grad_enabled() || !any_requires_grad(inputs)) return nullptr;
  auto node = std::make_shared<NodeType>();
  attach_node(output, node, std::move(inputs));
  return node;
}
}  // namespace ouro
