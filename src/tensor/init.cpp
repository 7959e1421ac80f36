#include "ouro/tensor/init.h"

#include <cmath>
#include <vector>

#include "ouro/kernels/cpu/parallel.h"

namespace ouro {
namespace {

void check_floating(const Tensor& t, const char* op) {
  OURO_CHECK(t.defined(), op, ": got an undefined tensor");
  OURO_CHECK(is_floating(t.dtype()), op, ": expected a float32 or float64 tensor, got a ", t.describe());
}

// Writes next() into every element in logical row-major order, so a view receives the same
// values as a contiguous tensor of its shape drawn from the same generator state.
template <typename Next>
void write_in_order(Tensor& t, const char* op, Next&& next) {
  check_floating(t, op);
  Tensor target = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  const std::int64_t n = target.numel();
  dispatch_floating(target.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* p = target.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(next());
  });
  if (!target.same(t)) t.copy_from_(target);
}

Fans fans_for(const Tensor& t, const char* op) {
  OURO_CHECK(t.defined(), op, ": got an undefined tensor");
  OURO_CHECK(t.dim() >= 2, op, ": fan in and fan out need a tensor of at least 2 dimensions, got a ", t.describe());
  return calculate_fans(t.shape());
}

Generator& generator_or_default(Generator* gen) { return gen ? *gen : default_generator(); }

double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, const char* op) {
  const Fans fans = fans_for(t, op);
  const std::int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Tensor& t, double gain, const char* op) {
  const Fans fans = fans_for(t, op);
  return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

// Householder QR of the m x n matrix `a` (column-major, m >= n). Returns the thin Q (column-major,
// m x n) with each column's sign chosen so that the matching diagonal entry of R is positive.
// Columns are independent in every update, so splitting them across threads keeps the result
// identical for any thread count.
std::vector<double> orthonormal_columns(std::vector<double> a, std::int64_t m, std::int64_t n) {
  std::vector<double> reflectors(static_cast<std::size_t>(m * n), 0.0);  // v_k in rows k..m-1 of column k
  std::vector<double> taus(static_cast<std::size_t>(n), 0.0);
  std::vector<double> r_diagonal(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t k = 0; k < n; ++k) {
    const double* x = &a[static_cast<std::size_t>(k * m)];
    double norm2 = 0;
    for (std::int64_t i = k; i < m; ++i) norm2 += x[i] * x[i];
    const double norm = std::sqrt(norm2);
    // Reflect x onto -sign(x_k) |x| e_k: subtracting numbers of opposite sign never cancels.
    const double alpha = x[k] >= 0 ? -norm : norm;
    r_diagonal[static_cast<std::size_t>(k)] = alpha;
    double* v = &reflectors[static_cast<std::size_t>(k * m)];
    for (std::int64_t i = k; i < m; ++i) v[i] = x[i];
    v[k] -= alpha;
    double v_norm2 = 0;
    for (std::int64_t i = k; i < m; ++i) v_norm2 += v[i] * v[i];
    if (v_norm2 == 0) continue;  // x is already zero: H_k = I
    const double tau = 2.0 / v_norm2;
    taus[static_cast<std::size_t>(k)] = tau;
    const int threads = kernels::threads_for((n - k) * (m - k));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t j = k; j < n; ++j) {
      double* col = &a[static_cast<std::size_t>(j * m)];
      double dot = 0;
      for (std::int64_t i = k; i < m; ++i) dot += v[i] * col[i];
      const double scale = tau * dot;
      for (std::int64_t i = k; i < m; ++i) col[i] -= scale * v[i];
    }
  }
  // Q = H_0 H_1 ... H_{n-1} I[:, :n], applied right to left. H_k only touches rows >= k, where
  // columns j < k of the partial product are still zero, so those columns are skipped.
  std::vector<double> q(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t j = 0; j < n; ++j) q[static_cast<std::size_t>(j * m + j)] = 1.0;
  for (std::int64_t k = n - 1; k >= 0; --k) {
    const double tau = taus[static_cast<std::size_t>(k)];
    if (tau == 0) continue;
    const double* v = &reflectors[static_cast<std::size_t>(k * m)];
    const int threads = kernels::threads_for((n - k) * (m - k));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (std::int64_t j = k; j < n; ++j) {
      double* col = &q[static_cast<std::size_t>(j * m)];
      double dot = 0;
      for (std::int64_t i = k; i < m; ++i) dot += v[i] * col[i];
      const double scale = tau * dot;
      for (std::int64_t i = k; i < m; ++i) col[i] -= scale * v[i];
    }
  }
  // torch multiplies by sign(diag R), which is 0 for a zero diagonal and would zero a column;
  // a zero diagonal (probability 0 for a normal draw) keeps its column here instead.
  for (std::int64_t j = 0; j < n; ++j) {
    if (r_diagonal[static_cast<std::size_t>(j)] >= 0) continue;
    double* col = &q[static_cast<std::size_t>(j * m)];
    for (std::int64_t i = 0; i < m; ++i) col[i] = -col[i];
  }
  return q;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::Relu: return std::sqrt(2.0);
    case Nonlinearity::LeakyRelu: {
      const double slope = param.value_or(0.01);
      OURO_CHECK(std::isfinite(slope), "calculate_gain: negative_slope of LeakyRelu must be finite, got ", slope);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    // torch's value: it trades SELU's self-normalisation for steadier gradients in rectangular
    // layers. A self-normalising network wants Linear (variance 1 / fan_in) instead.
    case Nonlinearity::Selu: return 3.0 / 4.0;
  }
  throw Error(detail::concat("calculate_gain: unknown nonlinearity ", static_cast<int>(nonlinearity)));
}

Fans calculate_fans(const Shape& shape) {
  OURO_CHECK(shape.size() >= 2, "calculate_fans: fan in and fan out need at least 2 dimensions, got shape ",
             shape_str(shape));
  std::int64_t receptive_field = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) receptive_field *= shape[d];
  return {shape[1] * receptive_field, shape[0] * receptive_field};
}

Tensor uniform_(Tensor t, double low, double high, Generator* gen) {
  OURO_CHECK(low <= high, "uniform_: low must not exceed high, got [", low, ", ", high, ")");
  Generator& g = generator_or_default(gen);
  write_in_order(t, "uniform_", [&] { return g.uniform(low, high); });
  return t;
}

Tensor normal_(Tensor t, double mean, double stddev, Generator* gen) {
  OURO_CHECK(stddev >= 0, "normal_: stddev must be non-negative, got ", stddev);
  Generator& g = generator_or_default(gen);
  write_in_order(t, "normal_", [&] { return mean + stddev * g.normal(); });
  return t;
}

Tensor constant_(Tensor t, double value) {
  OURO_CHECK(t.defined(), "constant_: got an undefined tensor");
  t.fill_(value);
  return t;
}

Tensor zeros_(Tensor t) {
  OURO_CHECK(t.defined(), "zeros_: got an undefined tensor");
  t.fill_(0.0);
  return t;
}

Tensor ones_(Tensor t) {
  OURO_CHECK(t.defined(), "ones_: got an undefined tensor");
  t.fill_(1.0);
  return t;
}

Tensor xavier_uniform_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "xavier_uniform_");
  const double stddev = xavier_std(t, gain, "xavier_uniform_");
  if (t.numel() == 0) return t;
  const double bound = std::sqrt(3.0) * stddev;
  Generator& g = generator_or_default(gen);
  write_in_order(t, "xavier_uniform_", [&] { return g.uniform(-bound, bound); });
  return t;
}

Tensor xavier_normal_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "xavier_normal_");
  const double stddev = xavier_std(t, gain, "xavier_normal_");
  if (t.numel() == 0) return t;
  Generator& g = generator_or_default(gen);
  write_in_order(t, "xavier_normal_", [&] { return stddev * g.normal(); });
  return t;
}

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_uniform_");
  const double stddev = kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_");
  if (t.numel() == 0) return t;
  const double bound = std::sqrt(3.0) * stddev;
  Generator& g = generator_or_default(gen);
  write_in_order(t, "kaiming_uniform_", [&] { return g.uniform(-bound, bound); });
  return t;
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_normal_");
  const double stddev = kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_");
  if (t.numel() == 0) return t;
  Generator& g = generator_or_default(gen);
  write_in_order(t, "kaiming_normal_", [&] { return stddev * g.normal(); });
  return t;
}

Tensor orthogonal_(Tensor t, double gain, Generator* gen) {
  check_floating(t, "orthogonal_");
  OURO_CHECK(t.dim() >= 2, "orthogonal_: needs a tensor of at least 2 dimensions, got a ", t.describe());
  if (t.numel() == 0) return t;
  const std::int64_t rows = t.size(0);
  const std::int64_t cols = t.numel() / rows;
  Generator& g = generator_or_default(gen);
  std::vector<double> drawn(static_cast<std::size_t>(rows * cols));
  for (double& x : drawn) x = g.normal();  // the [rows, cols] matrix, row-major
  // QR needs a tall matrix. Read column-major, the row-major [rows, cols] buffer is its own
  // transpose, [cols, rows]: for a wide matrix this is torch's `flattened.t()` for free, and
  // the resulting Q (column-major [cols, rows]) is, read row-major, the Q^T torch writes back.
  // For a tall one the buffer is transposed into column-major first, and back afterwards.
  std::vector<double> values;
  if (rows < cols) {
    values = orthonormal_columns(std::move(drawn), cols, rows);
  } else {
    std::vector<double> column_major(drawn.size());
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        column_major[static_cast<std::size_t>(j * rows + i)] = drawn[static_cast<std::size_t>(i * cols + j)];
    const std::vector<double> q = orthonormal_columns(std::move(column_major), rows, cols);
    values.resize(q.size());
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        values[static_cast<std::size_t>(i * cols + j)] = q[static_cast<std::size_t>(j * rows + i)];
  }
  std::size_t next = 0;
  write_in_order(t, "orthogonal_", [&] { return gain * values[next++]; });
  return t;
}

}  // namespace ouro
