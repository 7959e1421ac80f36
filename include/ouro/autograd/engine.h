// The backward engine: walks the recorded graph in reverse topological order.
#pragma once
#include "ouro/tensor/tensor.h"

namespace ouro {

// Runs backward from `root`, seeding its gradient with `grad_output` (ones if undefined and
// root holds one element). Leaf tensors that require grad accumulate into .grad(); the graph
// is freed afterwards.
void run_backward(const Tensor& root, const Tensor& grad_output);

// Sums g over the dimensions that broadcasting added or stretched, giving a tensor of `shape`.
// Exposed for nodes and tests; records nothing.
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace ouro
