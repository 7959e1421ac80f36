// Grad mode: whether ops record the graph. NoGradGuard turns recording off for a scope.
#pragma once

namespace ouro {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// Inference and optimizer updates: ops inside the scope record nothing.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ouro
