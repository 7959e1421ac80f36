// clip_grad_norm and clip_grad_value against torch.nn.utils (tests/fixtures/gen_optim_fixtures.py).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fixture.h"
#include "ouro/kernels/cpu/optim.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

const nlohmann::json& optim_fixtures() {
  static const nlohmann::json fixtures = load_fixture("optim_fixtures.json");
  return fixtures;
}

std::vector<Tensor> params_with_grads(const nlohmann::json& grads, DType dtype) {
  std::vector<Tensor> params;
  for (const auto& g : grads) {
    Tensor p = Tensor::zeros(g["shape"].get<Shape>(), dtype);
    p.set_requires_grad(true);
    p.impl().grad = fixture_tensor(g, dtype).impl_ptr();
    params.push_back(p);
  }
  return params;
}

TEST(Clip, GradNormMatchesTorch) {
  for (const auto& c : optim_fixtures()["clip_grad_norm"]) {
    const double norm_type =
        c["norm_type"].is_string() ? std::numeric_limits<double>::infinity() : c["norm_type"].get<double>();
    for (DType dtype : {DType::Float64, DType::Float32}) {
      SCOPED_TRACE("norm_type " + c["norm_type"].dump() + " in " + dtype_name(dtype));
      const double tol = dtype == DType::Float64 ? 1e-12 : 1e-6;
      std::vector<Tensor> params = params_with_grads(c["grads"], dtype);
      const double total = clip_grad_norm(params, c["max_norm"].get<double>(), norm_type);
      EXPECT_NEAR(total, c["total_norm"].get<double>(), tol * c["total_norm"].get<double>());
      for (std::size_t k = 0; k < params.size(); ++k)
        expect_values(params[k].grad(), c["clipped"][k]["data"].get<std::vector<double>>(), tol);
    }
  }
}

TEST(Clip, GradValueMatchesTorch) {
  for (const auto& c : optim_fixtures()["clip_grad_value"]) {
    for (DType dtype : {DType::Float64, DType::Float32}) {
      std::vector<Tensor> params = params_with_grads(c["grads"], dtype);
      clip_grad_value(params, c["clip"].get<double>());
      for (std::size_t k = 0; k < params.size(); ++k)
        expect_values(params[k].grad(), c["clipped"][k]["data"].get<std::vector<double>>(),
                      dtype == DType::Float64 ? 0 : 1e-7);
    }
  }
}

TEST(Clip, SkipsParametersWithoutGradientsAndLargeTensorsAgree) {
  // Above the kernel's block size the norm is summed in blocks; it still equals the exact value.
  const std::int64_t n = 3 * kernels::kNormSumBlock + 5;
  Tensor a = Tensor::zeros({n}, DType::Float64).set_requires_grad();
  a.impl().grad = Tensor::full({n}, 0.5, DType::Float64).impl_ptr();
  Tensor no_grad = Tensor::zeros({3}).set_requires_grad();
  const double expected = 0.5 * std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(clip_grad_norm({a, no_grad}, 1.0), expected, 1e-12 * expected);
  EXPECT_NEAR(a.grad().to_vector()[0], 0.5 / (expected + 1e-6), 1e-15);
  EXPECT_FALSE(no_grad.grad().defined());
  EXPECT_EQ(clip_grad_norm({no_grad}, 1.0), 0.0);
}

TEST(Clip, Errors) {
  Tensor a = Tensor::zeros({2}).set_requires_grad();
  expect_error([&] { clip_grad_norm({a}, -1.0); }, {"clip_grad_norm: max_norm must be >= 0, got -1"});
  expect_error([&] { clip_grad_norm({a}, 1.0, 0.0); }, {"clip_grad_norm: norm_type must be > 0", "got 0"});
  expect_error([&] { clip_grad_value({a}, -0.5); }, {"clip_grad_value: clip must be >= 0, got -0.5"});
  expect_error([&] { clip_grad_value({Tensor()}, 0.5); }, {"clip_grad_value: parameter 0 is an undefined tensor"});
}

}  // namespace
}  // namespace ouro::testing
