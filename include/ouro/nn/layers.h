// The small standard layers, each a thin Module over one op: Embedding, Dropout, LayerNorm,
// Flatten, Reshape, RepeatVector, Concatenate. (Linear, Activation, TimeDistributed and
// Sequential have files of their own.)
#pragma once
#include <vector>

#include "ouro/nn/module.h"
#include "ouro/tensor/random.h"

namespace ouro {

// Integer ids [...] -> vectors [..., dim]. weight [num_embeddings, dim] ~ N(0, 1) as in PyTorch.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t dim, Generator* generator = nullptr,
            DType dtype = DType::Float32);
  std::string type_name() const override { return "Embedding"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& ids) override;
  Tensor& weight() { return weight_; }

 private:
  std::int64_t num_embeddings_, dim_;
  Tensor weight_;
};

// Inverted dropout in training mode, identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p, Generator* generator = nullptr);
  std::string type_name() const override { return "Dropout"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

 private:
  double p_;
  Generator* generator_;
};

// Normalises over the trailing `normalized_shape`, with learned weight (ones) and bias (zeros).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool affine = true, DType dtype = DType::Float32);
  std::string type_name() const override { return "LayerNorm"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

 private:
  Shape normalized_shape_;
  double eps_;
  Tensor weight_, bias_;
};

// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...]
class Flatten : public Module {
 public:
  std::string type_name() const override { return "Flatten"; }
  using Module::forward;
  Tensor forward(const Tensor& x) override;
};

// [batch, ...] -> [batch, target...]; the batch dimension is kept, one target size may be -1.
class Reshape : public Module {
 public:
  explicit Reshape(Shape target) : target_(std::move(target)) {}
  std::string type_name() const override { return "Reshape"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

 private:
  Shape target_;
};

// [batch, features] -> [batch, n, features]: the vector repeated n times (a broadcast view,
// no copy), the shape a sequence layer expects.
class RepeatVector : public Module {
 public:
  explicit RepeatVector(std::int64_t n);
  std::string type_name() const override { return "RepeatVector"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const Tensor& x) override;

 private:
  std::int64_t n_;
};

// Joins its inputs along `axis` (default: the last). All inputs need the same rank and the
// same sizes outside that axis; otherwise the error names every input's shape.
class Concatenate : public Module {
 public:
  explicit Concatenate(std::int64_t axis = -1) : axis_(axis) {}
  std::string type_name() const override { return "Concatenate"; }
  std::string config_json() const override;
  using Module::forward;
  Tensor forward(const std::vector<Tensor>& inputs) override;

 private:
  std::int64_t axis_;
};

}  // namespace ouro
