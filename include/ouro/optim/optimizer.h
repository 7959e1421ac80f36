// Optimizer: parameter groups, the per-parameter state an update rule keeps, and checkpointing
// of that state so that a restored run continues bit for bit. Updates write the parameters'
// storage in place (no graph), so the handles modules hold stay valid.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ouro/tensor/tensor.h"

namespace ouro {

// A set of parameters sharing hyperparameters (e.g. no weight decay on biases and norms).
// Unset fields take the optimizer's options; after construction the optimizer's groups() have
// lr and weight_decay set.
struct ParamGroup {
  std::vector<Tensor> params;
  // (Default member initialisers keep designated initialisers such as
  // ParamGroup{.params = biases, .weight_decay = 0.0} free of -Wmissing-field-initializers.)
  std::optional<double> lr = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
  // Overrides of the optimizer's other numeric options by name ("momentum", "beta1", "eps", ...);
  // each optimizer's header lists the names it accepts, and any other name is an error.
  std::map<std::string, double> options = {};
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that requires grad and has a gradient; the others (frozen,
  // or unused by this step's loss) are left alone and their state does not advance.
  virtual void step();
  // Drops every parameter's gradient (set_to_none, so step() skips a parameter that the next
  // backward does not reach), or fills the existing gradients with zeros.
  void zero_grad(bool set_to_none = true);

  const char* name() const { return name_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::size_t num_params() const { return num_params_; }
  double lr() const { return lr(0); }  // group 0's
  double lr(std::size_t group) const;
  void set_lr(double lr);  // every group
  void set_lr(std::size_t group, double lr);

  // ---- checkpoints ----
  // Copies of the state buffers, named "param.<k>.<buffer>" with k the parameter's index in the
  // order of the groups (as torch's state_dict numbers them): "param.3.exp_avg".
  std::map<std::string, Tensor> state_tensors() const;
  // Everything else, as exact decimal strings: "optimizer" (the name), "groups",
  // "group.<g>.params", "group.<g>.lr", and "param.<k>.step" for every parameter with state.
  std::map<std::string, std::string> state_scalars() const;
  // Replaces all state with a saved one from an optimizer of the same kind over parameters of
  // the same shapes; checks everything before changing anything.
  void load_state(const std::map<std::string, Tensor>& tensors, const std::map<std::string, std::string>& scalars);

 protected:
  struct ParamState {
    std::int64_t step = 0;  // updates applied so far (incremented before each update, as in torch)
    std::map<std::string, Tensor> buffers;
  };

  // Checks lr, weight_decay and the parameters, fills unset group fields from the defaults.
  // option_names are the per-group overrides this optimizer accepts.
  Optimizer(const char* name, std::vector<ParamGroup> groups, double default_lr, double default_weight_decay,
            std::vector<std::string> option_names);

  // The group's override of `option`, or `fallback`.
  double group_option(std::size_t group, const std::string& option, double fallback) const;
  // "SGD: group 1: " (or "SGD: " with one group), to start error messages.
  std::string where(std::size_t group) const;

  // The state buffers a parameter of `group` carries, each shaped like the parameter.
  virtual std::vector<std::string> buffer_names(std::size_t group) const = 0;
  virtual double buffer_initial_value(std::size_t /*group*/, const std::string& /*buffer*/) const { return 0; }
  // Applies one update; state.step already counts this one. param and grad are contiguous and
  // of one shape and dtype.
  virtual void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) = 0;

 private:
  const char* name_;
  std::vector<ParamGroup> groups_;
  std::size_t num_params_ = 0;
  std::vector<std::optional<ParamState>> state_;  // by flat parameter index; empty until its first step
};

}  // namespace ouro
