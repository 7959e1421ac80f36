#include "ouro/nn/graph.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"

namespace ouro {

namespace {

std::string shapes_str(const std::vector<SymbolicTensor>& inputs) {
  std::ostringstream out;
  for (std::size_t i = 0; i < inputs.size(); ++i) out << (i ? ", " : "") << symbolic_shape_str(inputs[i].shape());
  return out.str();
}

// "RepeatVector" -> "repeat_vector", "LayerNorm" -> "layer_norm", "Linear" -> "linear".
std::string snake_case(const std::string& type) {
  std::string out;
  for (std::size_t i = 0; i < type.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(type[i]);
    if (std::isupper(c)) {
      const bool after_lower = i > 0 && std::islower(static_cast<unsigned char>(type[i - 1]));
      const bool before_lower = i > 0 && i + 1 < type.size() && std::isupper(static_cast<unsigned char>(type[i - 1])) &&
                                std::islower(static_cast<unsigned char>(type[i + 1]));
      if (after_lower || before_lower) out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += std::isalnum(c) ? static_cast<char>(c) : '_';
    }
  }
  return out.empty() ? "layer" : out;
}

void check_name(const std::string& name, const char* what) {
  OURO_CHECK(name.find('.') == std::string::npos, "GraphModel: ", what, " name '", name,
             "' must not contain '.' (it becomes part of parameter names)");
}

// Each module's own train flag, parent first, so that restoring in this order undoes a
// recursive eval() exactly even when children were in different modes.
std::vector<std::pair<Module*, bool>> save_modes(Module& layer) {
  std::vector<std::pair<Module*, bool>> modes{{&layer, layer.is_training()}};
  for (auto& [name, child] : layer.named_modules()) modes.emplace_back(child.get(), child->is_training());
  return modes;
}

void restore_modes(const std::vector<std::pair<Module*, bool>>& modes) {
  for (auto& [module, training] : modes) module->train(training);
}

}  // namespace

const Shape& SymbolicTensor::shape() const {
  OURO_CHECK(node_, "SymbolicTensor: used before being assigned from Input() or call()");
  return node_->shape;
}

DType SymbolicTensor::dtype() const {
  OURO_CHECK(node_, "SymbolicTensor: used before being assigned from Input() or call()");
  return node_->dtype;
}

bool SymbolicTensor::is_input() const { return node_ && node_->layer == nullptr; }

std::string symbolic_shape_str(const Shape& per_sample) {
  std::ostringstream out;
  out << "(None";
  for (std::int64_t d : per_sample) out << ", " << d;
  // A rank-1 tuple keeps Python's trailing comma so it reads as Keras prints it.
  out << (per_sample.empty() ? ",)" : ")");
  return out.str();
}

SymbolicTensor Input(Shape per_sample_shape, std::string name, DType dtype) {
  for (std::int64_t d : per_sample_shape)
    OURO_CHECK(d > 0, "Input", name.empty() ? "" : " '" + name + "'", ": sizes must be positive, got ",
               symbolic_shape_str(per_sample_shape));
  check_name(name, "Input");
  auto node = std::make_shared<GraphNode>();
  node->name = std::move(name);
  node->shape = std::move(per_sample_shape);
  node->dtype = dtype;
  return SymbolicTensor(std::move(node));
}

SymbolicTensor call(const ModulePtr& layer, const SymbolicTensor& input, const std::string& name) {
  return call(layer, std::vector<SymbolicTensor>{input}, name);
}

SymbolicTensor call(const ModulePtr& layer, const std::vector<SymbolicTensor>& inputs, const std::string& name) {
  OURO_CHECK(layer != nullptr, "call: the layer is null");
  OURO_CHECK(!inputs.empty(), "call: ", layer->type_name(), " called on no inputs");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    OURO_CHECK(inputs[i].defined(), "call: ", layer->type_name(), " input ", i,
               " is an empty SymbolicTensor (not from Input() or call())");
  check_name(name, "layer");

  // A batch of one zero sample is the cheapest input every layer accepts; eval mode keeps
  // Dropout from drawing random numbers (which would shift a seeded run) and BatchNorm-like
  // layers from updating statistics, and no-grad keeps the trace out of the autograd graph.
  std::vector<Tensor> samples;
  for (const SymbolicTensor& s : inputs) {
    Shape batch_shape{1};
    batch_shape.insert(batch_shape.end(), s.shape().begin(), s.shape().end());
    samples.push_back(Tensor::zeros(batch_shape, s.dtype()));
  }
  Tensor out;
  const auto modes = save_modes(*layer);
  try {
    NoGradGuard no_grad;
    layer->eval();
    out = samples.size() == 1 ? layer->forward(samples.front()) : layer->forward(samples);
  } catch (const std::exception& e) {
    restore_modes(modes);
    throw Error(layer->type_name() + (name.empty() ? "" : " '" + name + "'") + " cannot be called on inputs of shape " +
                shapes_str(inputs) + " (traced with a batch of 1): " + e.what());
  }
  restore_modes(modes);
  OURO_CHECK(out.defined() && out.dim() >= 1 && out.size(0) == 1, layer->type_name(),
             " called on inputs of shape ", shapes_str(inputs),
             " did not keep the batch dimension: a batch of 1 gave an output of shape ",
             out.defined() ? shape_str(out.shape()) : std::string("(undefined)"));

  auto node = std::make_shared<GraphNode>();
  node->layer = layer;
  node->name = name;
  for (const SymbolicTensor& s : inputs) node->inputs.push_back(s.node());
  node->shape.assign(out.shape().begin() + 1, out.shape().end());
  node->dtype = out.dtype();
  return SymbolicTensor(std::move(node));
}

GraphModel::GraphModel(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs) {
  OURO_CHECK(!inputs.empty() && !outputs.empty(), "GraphModel: needs at least one input and one output, got ",
             inputs.size(), " and ", outputs.size());
  std::unordered_map<const GraphNode*, std::size_t> position;
  std::vector<const GraphNode*> order;
  auto describe_input = [](const GraphNode* node) {
    return (node->name.empty() ? std::string("an unnamed Input") : "Input '" + node->name + "'") + " of shape " +
           symbolic_shape_str(node->shape);
  };

  // The model's Inputs come first, in the order given, so steps() read like the call signature.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    OURO_CHECK(inputs[i].defined(), "GraphModel: input ", i, " is an empty SymbolicTensor");
    const GraphNode* node = inputs[i].node().get();
    OURO_CHECK(node->layer == nullptr, "GraphModel: input ", i, " is the output of ", node->layer->type_name(),
               ", not an Input(): a model's inputs must be Input() tensors");
    OURO_CHECK(position.emplace(node, order.size()).second, "GraphModel: ", describe_input(node),
               " is listed twice among the inputs");
    order.push_back(node);
  }

  // Depth-first post-order from the outputs, inputs of each node in call order. The order
  // depends only on the graph's structure (not on when each node was created), and an explicit
  // stack keeps very deep graphs off the call stack.
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    OURO_CHECK(outputs[o].defined(), "GraphModel: output ", o, " is an empty SymbolicTensor");
    std::vector<std::pair<const GraphNode*, std::size_t>> stack{{outputs[o].node().get(), 0}};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (position.count(node)) {
        stack.pop_back();
        continue;
      }
      if (node->layer == nullptr)
        throw Error("GraphModel: output " + std::to_string(o) + " depends on " + describe_input(node) +
                    ", which is not among the model's inputs");
      if (next < node->inputs.size()) {
        const GraphNode* child = node->inputs[next++].get();
        if (!position.count(child)) stack.emplace_back(child, 0);
        continue;
      }
      position.emplace(node, order.size());
      order.push_back(node);
      stack.pop_back();
    }
  }

  // Names: Inputs and user-named layers keep theirs; the rest take snake_case(type_name) with
  // the first free suffix, in topological order.
  std::set<std::string> taken;
  std::map<const Module*, std::string> layer_names;
  for (const GraphNode* node : order) {
    if (node->name.empty()) continue;
    if (node->layer == nullptr) {
      OURO_CHECK(taken.insert(node->name).second, "GraphModel: the name '", node->name, "' is used twice");
      continue;
    }
    auto [it, fresh] = layer_names.emplace(node->layer.get(), node->name);
    if (fresh) {
      OURO_CHECK(taken.insert(node->name).second, "GraphModel: the name '", node->name, "' is used twice");
    } else {
      OURO_CHECK(it->second == node->name, "GraphModel: one ", node->layer->type_name(), " layer is named both '",
                 it->second, "' and '", node->name, "'");
    }
  }
  auto fresh_name = [&](const std::string& base) {
    std::string name = base;
    for (int k = 1; taken.count(name); ++k) name = base + "_" + std::to_string(k);
    taken.insert(name);
    return name;
  };

  std::map<const Module*, std::size_t> calls;
  for (const GraphNode* node : order) {
    GraphStep step;
    step.layer = node->layer;
    step.shape = node->shape;
    step.dtype = node->dtype;
    if (node->layer == nullptr) {
      step.name = node->name.empty() ? fresh_name("input") : node->name;
    } else {
      auto it = layer_names.find(node->layer.get());
      if (it == layer_names.end()) it = layer_names.emplace(node->layer.get(), fresh_name(snake_case(node->layer->type_name()))).first;
      step.name = it->second;
      step.call_index = calls[node->layer.get()]++;
      // A shared layer is one child: its parameters appear (and are counted) once.
      if (step.call_index == 0) add_child(step.name, node->layer);
      for (const auto& input : node->inputs) step.inputs.push_back(position.at(input.get()));
    }
    steps_.push_back(std::move(step));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) input_steps_.push_back(i);
  for (const SymbolicTensor& output : outputs) output_steps_.push_back(position.at(output.node().get()));

  last_use_.assign(steps_.size(), 0);
  for (std::size_t s = 0; s < steps_.size(); ++s)
    for (std::size_t input : steps_[s].inputs) last_use_[input] = s;
  for (std::size_t output : output_steps_) last_use_[output] = steps_.size();
}

std::vector<Tensor> GraphModel::forward_all(const std::vector<Tensor>& inputs) {
  OURO_CHECK(inputs.size() == input_steps_.size(), "Model: expected ", input_steps_.size(), " input",
             input_steps_.size() == 1 ? "" : "s", ", got ", inputs.size());
  std::vector<Tensor> values(steps_.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const GraphStep& step = steps_[input_steps_[i]];
    const Tensor& x = inputs[i];
    OURO_CHECK(x.defined(), "Model: input '", step.name, "' is an undefined tensor");
    const bool fits = x.dim() == static_cast<std::int64_t>(step.shape.size()) + 1 &&
                      std::equal(step.shape.begin(), step.shape.end(), x.shape().begin() + 1);
    OURO_CHECK(fits, "Model: input '", step.name, "' expects shape ", symbolic_shape_str(step.shape), ", got ",
               shape_str(x.shape()));
    OURO_CHECK(x.dtype() == step.dtype, "Model: input '", step.name, "' expects ", dtype_name(step.dtype),
               ", got a ", x.describe());
    OURO_CHECK(x.size(0) == inputs[0].size(0), "Model: inputs '", steps_[input_steps_[0]].name, "' and '",
               step.name, "' have different batch sizes: ", shape_str(inputs[0].shape()), " and ",
               shape_str(x.shape()));
    values[input_steps_[i]] = x;
  }
  for (std::size_t s = 0; s < steps_.size(); ++s) {
    const GraphStep& step = steps_[s];
    if (step.layer == nullptr) continue;
    std::vector<Tensor> args;
    for (std::size_t input : step.inputs) args.push_back(values[input]);
    try {
      values[s] = args.size() == 1 ? step.layer->forward(args.front()) : step.layer->forward(args);
    } catch (const Error& e) {
      throw Error("Model: layer '" + step.name + "' (" + step.layer->type_name() + "): " + e.what());
    }
    // Intermediate values nobody reads any more are released now, not at the end of the call.
    for (std::size_t input : step.inputs)
      if (last_use_[input] == s) values[input] = Tensor();
  }
  std::vector<Tensor> outputs;
  for (std::size_t output : output_steps_) outputs.push_back(values[output]);
  return outputs;
}

Tensor GraphModel::forward(const std::vector<Tensor>& inputs) {
  OURO_CHECK(output_steps_.size() == 1, "Model: has ", output_steps_.size(),
             " outputs; forward() returns one, call forward_all()");
  return forward_all(inputs).front();
}

Tensor GraphModel::forward(const Tensor& input) { return forward(std::vector<Tensor>{input}); }

ModulePtr GraphModel::layer(const std::string& name) const {
  std::ostringstream known;
  for (const auto& [child_name, child] : named_children()) {
    if (child_name == name) return child;
    known << " " << child_name;
  }
  throw Error("Model: no layer named '" + name + "'; layers:" + known.str());
}

}  // namespace ouro
