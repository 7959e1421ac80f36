// Functional graph API (Keras' functional models): Input() gives a symbolic tensor with a known
// per-sample shape, call() / Layer calls a module on symbolic tensors and infers the output
// shape at once (so a wiring mistake fails where it is written), and GraphModel runs the
// recorded DAG — several inputs and outputs, shared layers registered once.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ouro/nn/module.h"

namespace ouro {

// One node of a graph under construction: an Input, or one call of a layer. Immutable once
// made, so a graph can only refer to nodes that already exist and can never hold a cycle.
struct GraphNode {
  ModulePtr layer;  // null for an Input
  std::string name;  // an Input's name, or the name given to the layer at this call; "" = automatic
  std::vector<std::shared_ptr<const GraphNode>> inputs;
  Shape shape;  // per sample: the batch dimension is implicit
  DType dtype = DType::Float32;
};

// A handle on a graph node: what Input() and call() return and GraphModel is built from.
class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  explicit SymbolicTensor(std::shared_ptr<const GraphNode> node) : node_(std::move(node)) {}
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const;  // per sample
  DType dtype() const;
  bool is_input() const;
  const std::shared_ptr<const GraphNode>& node() const { return node_; }

 private:
  std::shared_ptr<const GraphNode> node_;
};

using Sym = SymbolicTensor;

// "(None, 3, 5)": a per-sample shape with the batch dimension shown as None, as Keras prints it.
std::string symbolic_shape_str(const Shape& per_sample);

// A model input of the given per-sample shape. Unnamed inputs are called "input", "input_1", ...
// by the model (errors at call time name them).
SymbolicTensor Input(Shape per_sample_shape, std::string name = "", DType dtype = DType::Float32);

// Calls `layer` on symbolic inputs: records the edge and infers the output's per-sample shape by
// running the layer once, in eval mode and without recording gradients, on zeros with a batch of
// 1. A layer the inputs do not fit throws ouro::Error naming the layer and every input shape.
// One input goes to forward(Tensor), several to forward(std::vector<Tensor>). `name` becomes
// the layer's child name in the model (parameters "name.weight"); a layer used at several
// calls is one layer (shared weights) and may be named at any of them.
SymbolicTensor call(const ModulePtr& layer, const SymbolicTensor& input, const std::string& name = "");
SymbolicTensor call(const ModulePtr& layer, const std::vector<SymbolicTensor>& inputs, const std::string& name = "");

// The Keras spelling, for code that reads like the model diagram:
//   Layer dense(std::make_shared<Linear>(4, 8), "encoder");  Sym h = dense(x);  Sym g = dense(y);
// Calling the same Layer twice shares its weights.
class Layer {
 public:
  explicit Layer(ModulePtr module, std::string name = "") : module_(std::move(module)), name_(std::move(name)) {}
  SymbolicTensor operator()(const SymbolicTensor& input) const { return call(module_, input, name_); }
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) const { return call(module_, inputs, name_); }
  const ModulePtr& module() const { return module_; }

 private:
  ModulePtr module_;
  std::string name_;
};

// One step of a GraphModel, in topological order: an Input or one layer call.
struct GraphStep {
  std::string name;  // the Input's name, or the layer's child name
  ModulePtr layer;   // null for an Input
  std::size_t call_index = 0;  // the k-th call of this layer in the model (Keras' node index)
  std::vector<std::size_t> inputs;  // positions in steps() of what this step reads
  Shape shape;  // per sample
  DType dtype = DType::Float32;
};

// A model from the graph between `inputs` (all Input() tensors) and `outputs`. Only what the
// outputs depend on is kept. Layers are named in topological order (the snake_case of their
// type_name: "linear", "linear_1", "repeat_vector", ... unless given a name), so two models of
// the same structure have the same parameter names however their nodes were created.
class GraphModel : public Module {
 public:
  GraphModel(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs);
  GraphModel(const SymbolicTensor& input, const SymbolicTensor& output)
      : GraphModel(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}) {}
  std::string type_name() const override { return "Model"; }

  // Every output, in the order given at construction. The inputs must match the Inputs in
  // count, per-sample shape, dtype, and share one batch size.
  std::vector<Tensor> forward_all(const std::vector<Tensor>& inputs);
  // The single output; a model with several outputs is an error pointing at forward_all.
  using Module::forward;
  Tensor forward(const Tensor& input) override;
  Tensor forward(const std::vector<Tensor>& inputs) override;

  const std::vector<GraphStep>& steps() const { return steps_; }
  const std::vector<std::size_t>& input_steps() const { return input_steps_; }
  const std::vector<std::size_t>& output_steps() const { return output_steps_; }
  // The layer registered under `name`; an unknown name is an error listing the known ones.
  ModulePtr layer(const std::string& name) const;

 private:
  std::vector<GraphStep> steps_;
  std::vector<std::size_t> input_steps_, output_steps_;
  std::vector<std::size_t> last_use_;  // per step: the last step reading it (frees values early)
};

using Model = GraphModel;

}  // namespace ouro
