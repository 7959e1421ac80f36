// Module: the base of every layer and model. It owns named parameters, buffers and
// sub-modules, gives them hierarchical names ("encoder.layers.0.weight") that are also the
// checkpoint's tensor names, and carries the train/eval mode.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

using StateDict = std::map<std::string, Tensor>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  virtual ~Module() = default;

  // "Linear", "Sequential", ...: what summary() prints.
  virtual std::string type_name() const = 0;
  // Most layers take one tensor. Layers with several inputs (Concatenate) override the vector
  // form; the default of each form forwards to the other.
  virtual Tensor forward(const Tensor& input);
  virtual Tensor forward(const std::vector<Tensor>& inputs);
  Tensor operator()(const Tensor& input) { return forward(input); }
  Tensor operator()(const std::vector<Tensor>& inputs) { return forward(inputs); }
  // The layer's configuration as JSON text (checkpoint metadata, summary); "{}" by default.
  virtual std::string config_json() const { return "{}"; }

  // ---- parameters, buffers, children ----
  std::vector<Tensor> parameters(bool trainable_only = false) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool trainable_only = false) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  // Every module below this one (not this one), with its dotted path.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  std::int64_t parameter_count(bool trainable_only = false) const;

  // ---- mode ----
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- checkpoints ----
  // Parameters and buffers by hierarchical name.
  StateDict state_dict() const;
  // Copies values into the existing tensors (handles held elsewhere stay valid). Strict: any
  // missing, unexpected or mis-shaped tensor is an error listing all of them.
  void load_state_dict(const StateDict& state, bool strict = true);
  // What this module alone (not its children) carries from one training forward into the next
  // and is neither a parameter nor a buffer: a stateful recurrent layer's last state. Training
  // checkpoints save it ("carried.<module path>.<key>"; keys without dots) so that a run resumed
  // mid-epoch continues exactly; model exports leave it out. Loading an empty map means
  // "nothing carried" (the next forward starts from zeros).
  virtual StateDict carried_tensors() const { return {}; }
  virtual void load_carried_tensors(const StateDict& carried) { (void)carried; }

  // ---- fine-tuning ----
  // Marks parameters whose name matches the glob ('*' any run of characters, '?' one) as not
  // trainable (requires_grad off: no gradient, optimizers skip them) / trainable again.
  // Returns how many parameters matched; a pattern matching nothing is an error.
  std::size_t freeze(const std::string& pattern = "*");
  std::size_t unfreeze(const std::string& pattern = "*");
  static bool glob_match(const std::string& pattern, const std::string& name);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor value, bool trainable = true);
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  std::size_t set_trainable(const std::string& pattern, bool trainable, const char* op);

  struct Slot {
    std::string name;
    Tensor tensor;
  };
  std::vector<Slot> parameters_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace ouro
