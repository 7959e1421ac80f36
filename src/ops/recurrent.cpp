// The fused recurrent op. Until the fused kernels land this forwards to the reference.
#include "ouro/ops/recurrent.h"

namespace ouro {

Tensor recurrent(CellType cell, const RecurrentInputs& in) { return recurrent_reference(cell, in); }

}  // namespace ouro
