#include "ouro/nn/sequential.h"

#include "ouro/core/error.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

Sequential::Sequential(std::initializer_list<ModulePtr> layers) {
  for (const ModulePtr& layer : layers) add(layer);
}

Sequential& Sequential::add(ModulePtr layer) {
  OURO_CHECK(layer != nullptr, "Sequential::add: layer ", layers_.size(), " is null");
  add_child(std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      h = layers_[i]->forward(h);
    } catch (const Error& e) {
      throw Error("Sequential layer " + std::to_string(i) + " (" + layers_[i]->type_name() + "): " + e.what());
    }
  }
  return h;
}

TimeDistributed::TimeDistributed(ModulePtr layer) : layer_(std::move(layer)) {
  OURO_CHECK(layer_ != nullptr, "TimeDistributed: the wrapped layer is null");
  add_child("layer", layer_);
}

Tensor TimeDistributed::forward(const Tensor& x) {
  OURO_CHECK(x.dim() >= 3, "TimeDistributed(", layer_->type_name(), "): expected [batch, time, ...], got shape ",
             shape_str(x.shape()));
  const std::int64_t batch = x.size(0), time = x.size(1);
  Shape folded{batch * time};
  folded.insert(folded.end(), x.shape().begin() + 2, x.shape().end());
  const Tensor y = layer_->forward(reshape(x, folded));
  Shape out{batch, time};
  out.insert(out.end(), y.shape().begin() + 1, y.shape().end());
  return reshape(y, out);
}

}  // namespace ouro
