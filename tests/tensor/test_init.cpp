#include <algorithm>
#include <cmath>
#include <numeric>

#include "gradcheck.h"

namespace ouro::testing {
namespace {

struct Moments {
  double mean = 0, std = 0, min = 0, max = 0;
};

Moments moments(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  Moments m;
  m.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(sq / static_cast<double>(v.size()));
  m.min = *std::min_element(v.begin(), v.end());
  m.max = *std::max_element(v.begin(), v.end());
  return m;
}

// Largest |(W W^T - gain^2 I)_ij| for W viewed as [rows, cols] (rows <= cols), or of W^T W otherwise.
double orthogonality_error(const Tensor& t, double gain = 1.0) {
  const std::vector<double> w = t.to_vector();
  const std::int64_t rows = t.size(0), cols = t.numel() / rows;
  const bool wide = rows <= cols;
  const std::int64_t n = wide ? rows : cols, len = wide ? cols : rows;
  auto element = [&](std::int64_t vec, std::int64_t i) {
    return wide ? w[static_cast<std::size_t>(vec * cols + i)] : w[static_cast<std::size_t>(i * cols + vec)];
  };
  double worst = 0;
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < n; ++b) {
      double dot = 0;
      for (std::int64_t i = 0; i < len; ++i) dot += element(a, i) * element(b, i);
      worst = std::max(worst, std::abs(dot - (a == b ? gain * gain : 0.0)));
    }
  return worst;
}

TEST(Init, CalculateGain) {
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Linear), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::Selu), 0.75);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::LeakyRelu), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::LeakyRelu, 0.0), std::sqrt(2.0));
  // torch.nn.Linear's default, kaiming_uniform_(a=sqrt(5)), has gain sqrt(1/3).
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::LeakyRelu, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  expect_error([] { calculate_gain(Nonlinearity::LeakyRelu, NAN); }, {"calculate_gain", "nan"});
}

TEST(Init, Fans) {
  const Fans linear = calculate_fans({3, 5});
  EXPECT_EQ(linear.fan_in, 5);
  EXPECT_EQ(linear.fan_out, 3);
  const Fans conv = calculate_fans({16, 8, 3, 3});  // [out, in, kh, kw]
  EXPECT_EQ(conv.fan_in, 72);
  EXPECT_EQ(conv.fan_out, 144);
  expect_error([] { calculate_fans({4}); }, {"calculate_fans", "[4]"});
}

TEST(Init, XavierUniformBounds) {
  Generator gen(1);
  Tensor w = xavier_uniform_(Tensor::empty({300, 200}), 1.0, &gen);
  const double bound = std::sqrt(6.0 / 500.0);
  const Moments m = moments(w);
  EXPECT_GE(m.min, -bound);
  EXPECT_LE(m.max, bound);
  EXPECT_LT(m.min, -0.99 * bound);  // the whole interval is used
  EXPECT_GT(m.max, 0.99 * bound);
  EXPECT_NEAR(m.std, bound / std::sqrt(3.0), 0.02 * bound / std::sqrt(3.0));

  Tensor scaled = xavier_uniform_(Tensor::empty({300, 200}), 2.0, &gen);
  EXPECT_LE(moments(scaled).max, 2 * bound);
  EXPECT_GT(moments(scaled).max, 0.99 * 2 * bound);
}

TEST(Init, KaimingUniformBounds) {
  Generator gen(2);
  // Conv weight [out, in, kh, kw]: fan_in = 32 * 9, fan_out = 64 * 9.
  const Shape shape{64, 32, 3, 3};
  struct Case {
    double a;
    FanMode mode;
    Nonlinearity nonlinearity;
    double bound;
  };
  const Case cases[] = {
      {0.0, FanMode::FanIn, Nonlinearity::LeakyRelu, std::sqrt(6.0 / 288)},
      {0.0, FanMode::FanOut, Nonlinearity::Relu, std::sqrt(6.0 / 576)},
      {std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyRelu, 1.0 / std::sqrt(288.0)},
      {0.0, FanMode::FanIn, Nonlinearity::Tanh, 5.0 / 3.0 * std::sqrt(3.0 / 288)},
  };
  for (const Case& c : cases) {
    Tensor w = kaiming_uniform_(Tensor::empty(shape), c.a, c.mode, c.nonlinearity, &gen);
    const Moments m = moments(w);
    EXPECT_GE(m.min, -c.bound);
    EXPECT_LE(m.max, c.bound);
    EXPECT_LT(m.min, -0.99 * c.bound);
    EXPECT_GT(m.max, 0.99 * c.bound);
  }
}

TEST(Init, XavierNormalStd) {
  Generator gen(3);
  Tensor w = xavier_normal_(Tensor::empty({1000, 1000}), 1.0, &gen);
  const double expected = std::sqrt(2.0 / 2000.0);
  const Moments m = moments(w);
  EXPECT_NEAR(m.std, expected, 0.02 * expected);
  EXPECT_NEAR(m.mean, 0.0, 0.01 * expected);
}

TEST(Init, KaimingNormalStd) {
  Generator gen(4);
  Tensor w = kaiming_normal_(Tensor::empty({512, 64, 3, 3}, DType::Float64), 0.0, FanMode::FanOut,
                             Nonlinearity::Tanh, &gen);
  const double expected = 5.0 / 3.0 / std::sqrt(512.0 * 9);
  const Moments m = moments(w);
  EXPECT_NEAR(m.std, expected, 0.02 * expected);
  EXPECT_NEAR(m.mean, 0.0, 0.01 * expected);

  Tensor relu = kaiming_normal_(Tensor::empty({256, 1024}), 0.0, FanMode::FanIn, Nonlinearity::Relu, &gen);
  EXPECT_NEAR(moments(relu).std, std::sqrt(2.0 / 1024), 0.02 * std::sqrt(2.0 / 1024));
}

TEST(Init, UniformNormalConstant) {
  Generator gen(5);
  const Moments u = moments(uniform_(Tensor::empty({100000}), -2.0, 4.0, &gen));
  EXPECT_GE(u.min, -2.0);
  EXPECT_LT(u.max, 4.0);
  EXPECT_NEAR(u.mean, 1.0, 0.05);
  const Moments n = moments(normal_(Tensor::empty({100000}, DType::Float64), 3.0, 0.5, &gen));
  EXPECT_NEAR(n.mean, 3.0, 0.01);
  EXPECT_NEAR(n.std, 0.5, 0.01);
  expect_values(constant_(Tensor::empty({2, 2}), 7.5), {7.5, 7.5, 7.5, 7.5});
  expect_values(zeros_(Tensor::full({3}, 9.0)), {0, 0, 0});
  expect_values(ones_(Tensor::empty({3}, DType::Float64)), {1, 1, 1});
}

TEST(Init, OrthogonalSquareTallWide) {
  Generator gen(6);
  for (const Shape& shape : std::vector<Shape>{{64, 64}, {100, 30}, {30, 100}, {1, 7}, {7, 1}}) {
    Tensor w = orthogonal_(Tensor::empty(shape), 1.0, &gen);
    EXPECT_LT(orthogonality_error(w), 1e-5) << shape_str(shape);
  }
  // Dims beyond the first are flattened as torch does: [8, 4, 3, 3] is a wide [8, 36] matrix,
  // [50, 2, 5] a tall [50, 10] one.
  for (const Shape& shape : std::vector<Shape>{{8, 4, 3, 3}, {50, 2, 5}}) {
    Tensor w = orthogonal_(Tensor::empty(shape, DType::Float64), 1.0, &gen);
    EXPECT_LT(orthogonality_error(w), 1e-12) << shape_str(shape);
  }
  // A recurrent weight's gain scales the singular values.
  Tensor scaled = orthogonal_(Tensor::empty({40, 40}, DType::Float64), 2.0, &gen);
  EXPECT_LT(orthogonality_error(scaled, 2.0), 1e-12);
}

TEST(Init, OrthogonalIsQOfTheDrawnMatrix) {
  // With diag(R) > 0 the QR factorisation is unique, so for a square draw A, R = Q^T A must be
  // upper triangular with a positive diagonal.
  const std::int64_t n = 6;
  Generator gen(7), replay(7);
  Tensor q = orthogonal_(Tensor::empty({n, n}, DType::Float64), 1.0, &gen);
  std::vector<double> a(static_cast<std::size_t>(n * n));
  for (double& x : a) x = replay.normal();
  const std::vector<double> qv = q.to_vector();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double r = 0;
      for (std::int64_t k = 0; k < n; ++k) r += qv[static_cast<std::size_t>(k * n + i)] * a[static_cast<std::size_t>(k * n + j)];
      if (i > j) {
        EXPECT_NEAR(r, 0.0, 1e-12) << i << "," << j;
      } else if (i == j) {
        EXPECT_GT(r, 0.0) << i;
      }
    }
}

TEST(Init, SameSeedSameValues) {
  using Init = std::function<Tensor(Tensor, Generator*)>;
  const std::vector<Init> inits = {
      [](Tensor t, Generator* g) { return xavier_uniform_(t, 1.0, g); },
      [](Tensor t, Generator* g) { return xavier_normal_(t, 1.0, g); },
      [](Tensor t, Generator* g) { return kaiming_uniform_(t, 0.0, FanMode::FanIn, Nonlinearity::Relu, g); },
      [](Tensor t, Generator* g) { return kaiming_normal_(t, 0.0, FanMode::FanOut, Nonlinearity::Relu, g); },
      [](Tensor t, Generator* g) { return orthogonal_(t, 1.0, g); },
  };
  for (const Init& init : inits) {
    Generator a(42), b(42), c(43);
    const auto first = init(Tensor::empty({5, 7}), &a).to_vector();
    EXPECT_EQ(first, init(Tensor::empty({5, 7}), &b).to_vector());
    EXPECT_NE(first, init(Tensor::empty({5, 7}), &c).to_vector());
  }
  // Without a generator the default one is used, so manual_seed replays it.
  manual_seed(99);
  const auto first = xavier_uniform_(Tensor::empty({4, 4})).to_vector();
  manual_seed(99);
  EXPECT_EQ(first, xavier_uniform_(Tensor::empty({4, 4})).to_vector());
}

TEST(Init, OrthogonalDoesNotDependOnThreadCount) {
  // 300 x 200 is above the parallel grain, so the Householder updates split across threads.
  const int saved = num_threads();
  set_num_threads(1);
  Generator a(10);
  const auto serial = orthogonal_(Tensor::empty({300, 200}, DType::Float64), 1.0, &a).to_vector();
  set_num_threads(2);
  Generator b(10);
  const auto parallel = orthogonal_(Tensor::empty({300, 200}, DType::Float64), 1.0, &b).to_vector();
  set_num_threads(saved);
  EXPECT_EQ(serial, parallel);
}

TEST(Init, ViewGetsTheValuesOfAContiguousTensor) {
  // A transposed view of a [6, 4] buffer: its logical [4, 6] elements are filled in row-major
  // order, exactly as a contiguous [4, 6] tensor would be.
  Tensor base = Tensor::zeros({6, 4});
  Tensor view = base.as_strided({4, 6}, {1, 4}, 0);
  Generator a(8), b(8);
  kaiming_uniform_(view, 0.0, FanMode::FanIn, Nonlinearity::Relu, &a);
  Tensor contiguous = kaiming_uniform_(Tensor::empty({4, 6}), 0.0, FanMode::FanIn, Nonlinearity::Relu, &b);
  EXPECT_EQ(view.to_vector(), contiguous.to_vector());
  EXPECT_DOUBLE_EQ(base.at({5, 0}), contiguous.at({0, 5}));
  Generator c(9), d(9);
  orthogonal_(view, 1.0, &c);
  EXPECT_EQ(view.to_vector(), orthogonal_(Tensor::empty({4, 6}), 1.0, &d).to_vector());
}

TEST(Init, EmptyTensorIsLeftAlone) {
  EXPECT_NO_THROW(xavier_uniform_(Tensor::empty({0, 5})));
  EXPECT_NO_THROW(kaiming_normal_(Tensor::empty({3, 0, 2})));
  EXPECT_NO_THROW(orthogonal_(Tensor::empty({0, 4})));
}

TEST(Init, Errors) {
  expect_error([] { xavier_uniform_(Tensor::empty({5})); }, {"xavier_uniform_", "float32 tensor of shape [5]"});
  expect_error([] { xavier_normal_(Tensor::empty({5})); }, {"xavier_normal_", "[5]"});
  expect_error([] { kaiming_uniform_(Tensor::scalar(1.0)); }, {"kaiming_uniform_", "shape []"});
  expect_error([] { kaiming_normal_(Tensor::empty({7}, DType::Float64)); }, {"kaiming_normal_", "float64", "[7]"});
  expect_error([] { orthogonal_(Tensor::empty({3})); }, {"orthogonal_", "[3]"});
  expect_error([] { xavier_uniform_(Tensor::empty({3, 3}, DType::Int64)); }, {"xavier_uniform_", "int64", "[3, 3]"});
  expect_error([] { uniform_(Tensor::empty({3}), 1.0, 0.0); }, {"uniform_", "1", "0"});
  expect_error([] { normal_(Tensor::empty({3}), 0.0, -1.0); }, {"normal_", "-1"});
  expect_error([] { zeros_(Tensor()); }, {"zeros_", "undefined"});
}

}  // namespace
}  // namespace ouro::testing
