// Parameter initialisers, in place on a floating tensor, with PyTorch's formulas
// (torch.nn.init): xavier/kaiming uniform and normal, orthogonal, constants, and the
// gain and fan-in/fan-out rules they rest on. Draws come from the Generator passed, or
// from default_generator() when it is null, so the same seed gives the same weights.
#pragma once
#include <cstdint>
#include <optional>

#include "ouro/tensor/random.h"
#include "ouro/tensor/tensor.h"

namespace ouro {

// The nonlinearity that follows a layer, for its recommended gain. Convolutions, like
// Linear, have gain 1 (torch lists conv1d..conv_transpose3d separately with the same value).
enum class Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu, Selu };

// Which fan kaiming_* preserves: FanIn keeps the forward activations' variance,
// FanOut keeps the backward gradients' variance.
enum class FanMode { FanIn, FanOut };

// torch.nn.init.calculate_gain: Linear and Sigmoid 1, Tanh 5/3, Relu sqrt(2),
// LeakyRelu sqrt(2 / (1 + slope^2)) with slope = param (0.01 when absent), Selu 3/4.
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

struct Fans {
  std::int64_t fan_in = 0;
  std::int64_t fan_out = 0;
};
// As torch: for a weight of shape [out, in, k...], fan_in = in * prod(k), fan_out = out * prod(k)
// (the receptive field prod(k) is 1 for a Linear weight). Needs at least 2 dimensions.
Fans calculate_fans(const Shape& shape);

// Every initialiser returns its argument (the same handle), records no graph, and accepts
// views (the values are written through the tensor's strides).
Tensor uniform_(Tensor t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor normal_(Tensor t, double mean = 0.0, double stddev = 1.0, Generator* gen = nullptr);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);

// Glorot & Bengio (2010): std = gain * sqrt(2 / (fan_in + fan_out)); the uniform variant draws
// from [-sqrt(3) std, sqrt(3) std], which has that std.
Tensor xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
Tensor xavier_normal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);

// He et al. (2015): std = calculate_gain(nonlinearity, a) / sqrt(fan), fan chosen by mode;
// `a` is the negative slope of a following leaky ReLU (0 gives the ReLU gain sqrt(2)).
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator* gen = nullptr);
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator* gen = nullptr);

// Saxe et al. (2013), as torch: the tensor is viewed as [rows, numel / rows]; a standard normal
// matrix of that shape is factored A = QR (Householder, in double) and Q, its columns' signs
// fixed so diag(R) > 0 (which makes the result uniformly distributed), times gain is written.
// Tall or square: the columns are orthonormal (W^T W = I); wide: the rows are (W W^T = I).
Tensor orthogonal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace ouro
