// lora_linear: a Linear layer with a LoRA adapter (Hu et al. 2021) as one op,
//   y = x @ weight^T + bias + scale * (x_lora @ lora_a^T) @ lora_b^T,
// where x_lora is x after the adapter's dropout. The low-rank product is added into the
// output buffer by the same GEMM that computes it, so the adapter costs two thin GEMMs and no
// extra pass over the [rows, out] output.
#pragma once
#include "ouro/tensor/tensor.h"

namespace ouro {

// x [..., in], weight [out, in], bias [out] or undefined, lora_a [r, in], lora_b [out, r].
// x_lora: undefined when the adapter sees x itself (no dropout, or eval), else x after
// dropout (x's shape). Gradients flow to every input that requires them.
Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& lora_a,
                   const Tensor& lora_b, double scale, const Tensor& x_lora = Tensor());

}  // namespace ouro
