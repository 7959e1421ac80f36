#include "ouro/autograd/grad_mode.h"

namespace ouro {
namespace {
// Per thread, as in PyTorch: a data-loading thread's NoGradGuard must not affect training.
thread_local bool grad_mode_enabled = true;
}  // namespace

bool grad_enabled() { return grad_mode_enabled; }
void set_grad_enabled(bool enabled) { grad_mode_enabled = enabled; }

}  // namespace ouro
