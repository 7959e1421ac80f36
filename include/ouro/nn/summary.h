// summary(): a Keras-like table of a model's layers — name (type), output shape with the batch
// as None, parameter count, and for a GraphModel the inputs each call is connected to —
// followed by the total, trainable and non-trainable parameter counts.
#pragma once
#include <string>

#include "ouro/nn/module.h"

namespace ouro {

// A GraphModel's table, from the shapes recorded when the graph was built. Any other module
// needs an input shape: this overload is an error for it, naming the one to call.
std::string summary(Module& model);

// Sequential: one row per layer, shapes from a traced forward of a zero batch of 1 (eval mode,
// no gradients; the modes are restored afterwards). Any other module: one row for the whole.
// A GraphModel checks `per_sample_input` against its single Input and uses its own shapes.
std::string summary(Module& model, const Shape& per_sample_input, DType dtype = DType::Float32);

// 1234567 -> "1,234,567", as Keras prints counts.
std::string format_count(std::int64_t n);

}  // namespace ouro
