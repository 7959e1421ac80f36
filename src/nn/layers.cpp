#include "ouro/nn/layers.h"

#include <cmath>
#include <sstream>

#include "ouro/core/error.h"
#include "ouro/ops/dropout.h"
#include "ouro/ops/embedding.h"
#include "ouro/ops/layer_norm.h"
#include "ouro/ops/shape_ops.h"

namespace ouro {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t dim, Generator* generator, DType dtype)
    : num_embeddings_(num_embeddings), dim_(dim) {
  OURO_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got ", num_embeddings, " x ", dim);
  weight_ = register_parameter("weight", randn({num_embeddings, dim}, 0.0, 1.0, dtype, generator));
}

Tensor Embedding::forward(const Tensor& ids) { return embedding(weight_, ids); }

std::string Embedding::config_json() const {
  return "{\"num_embeddings\": " + std::to_string(num_embeddings_) + ", \"dim\": " + std::to_string(dim_) + "}";
}

Dropout::Dropout(double p, Generator* generator) : p_(p), generator_(generator) {
  OURO_CHECK(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), generator_); }

std::string Dropout::config_json() const {
  std::ostringstream out;
  out << "{\"p\": " << p_ << "}";
  return out.str();
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool affine, DType dtype)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  OURO_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape must not be empty");
  OURO_CHECK(std::isfinite(eps) && eps >= 0, "LayerNorm: eps must be finite and non-negative, got ", eps);
  if (affine) {
    weight_ = register_parameter("weight", Tensor::ones(normalized_shape_, dtype));
    bias_ = register_parameter("bias", Tensor::zeros(normalized_shape_, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape_, weight_, bias_, eps_); }

std::string LayerNorm::config_json() const {
  std::ostringstream out;
  out << "{\"normalized_shape\": " << shape_str(normalized_shape_) << ", \"eps\": " << eps_ << "}";
  return out.str();
}

Tensor Flatten::forward(const Tensor& x) {
  OURO_CHECK(x.dim() >= 1, "Flatten: expected an input with a batch dimension, got shape ", shape_str(x.shape()));
  if (x.dim() == 1) return reshape(x, {x.size(0), 1});
  return flatten(x, 1);
}

Tensor Reshape::forward(const Tensor& x) {
  OURO_CHECK(x.dim() >= 1, "Reshape: expected an input with a batch dimension, got shape ", shape_str(x.shape()));
  Shape shape{x.size(0)};
  shape.insert(shape.end(), target_.begin(), target_.end());
  return reshape(x, shape);
}

std::string Reshape::config_json() const { return "{\"target_shape\": " + shape_str(target_) + "}"; }

RepeatVector::RepeatVector(std::int64_t n) : n_(n) {
  OURO_CHECK(n > 0, "RepeatVector: n must be positive, got ", n);
}

Tensor RepeatVector::forward(const Tensor& x) {
  OURO_CHECK(x.dim() == 2, "RepeatVector(", n_, "): expected input of shape [batch, features], got ",
             shape_str(x.shape()));
  return expand(unsqueeze(x, 1), {x.size(0), n_, x.size(1)});
}

std::string RepeatVector::config_json() const { return "{\"n\": " + std::to_string(n_) + "}"; }

Tensor Concatenate::forward(const std::vector<Tensor>& inputs) {
  OURO_CHECK(inputs.size() >= 2, "Concatenate: expected at least 2 inputs, got ", inputs.size());
  const std::int64_t rank = inputs.front().dim();
  bool compatible = true;
  std::int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
  for (const Tensor& t : inputs) {
    if (t.dim() != rank || axis < 0 || axis >= rank) {
      compatible = false;
      break;
    }
    for (std::int64_t d = 0; d < rank; ++d)
      if (d != axis && t.shape()[d] != inputs.front().shape()[d]) compatible = false;
  }
  if (!compatible) {
    std::ostringstream message;
    message << "Concatenate(axis=" << axis_ << "): inputs must have the same rank and equal sizes outside the axis; got";
    for (std::size_t i = 0; i < inputs.size(); ++i) message << (i ? ", " : " ") << shape_str(inputs[i].shape());
    if (inputs.front().dim() != inputs.back().dim())
      message << " (a RepeatVector can turn a [batch, features] input into a sequence first)";
    throw Error(message.str());
  }
  return concat(inputs, axis);
}

std::string Concatenate::config_json() const { return "{\"axis\": " + std::to_string(axis_) + "}"; }

}  // namespace ouro
