// Optimizers against torch.optim (tests/fixtures/gen_optim_fixtures.py), parameter groups,
// frozen parameters, bit-identical save/restore, thread-count independence, and errors.
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fixture.h"
#include "gradcheck.h"

namespace ouro::testing {
namespace {

const nlohmann::json& optim_fixtures() {
  static const nlohmann::json fixtures = load_fixture("optim_fixtures.json");
  return fixtures;
}

// Builds the optimizer a fixture names, with its options (ouro's names) over `groups`.
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, const nlohmann::json& o,
                                          std::vector<ParamGroup> groups) {
  if (kind == "SGD")
    return std::make_unique<SGD>(std::move(groups),
                                 SGDOptions{.lr = o.value("lr", std::numeric_limits<double>::quiet_NaN()),
                                            .momentum = o.value("momentum", 0.0),
                                            .dampening = o.value("dampening", 0.0),
                                            .weight_decay = o.value("weight_decay", 0.0),
                                            .nesterov = o.value("nesterov", false)});
  if (kind == "Adam")
    return std::make_unique<Adam>(std::move(groups), AdamOptions{.lr = o.value("lr", 1e-3),
                                                                 .beta1 = o.value("beta1", 0.9),
                                                                 .beta2 = o.value("beta2", 0.999),
                                                                 .eps = o.value("eps", 1e-8),
                                                                 .weight_decay = o.value("weight_decay", 0.0),
                                                                 .amsgrad = o.value("amsgrad", false)});
  if (kind == "AdamW")
    return std::make_unique<AdamW>(std::move(groups), AdamWOptions{.lr = o.value("lr", 1e-3),
                                                                   .beta1 = o.value("beta1", 0.9),
                                                                   .beta2 = o.value("beta2", 0.999),
                                                                   .eps = o.value("eps", 1e-8),
                                                                   .weight_decay = o.value("weight_decay", 1e-2),
                                                                   .amsgrad = o.value("amsgrad", false)});
  if (kind == "RMSProp")
    return std::make_unique<RMSProp>(std::move(groups), RMSPropOptions{.lr = o.value("lr", 1e-2),
                                                                       .alpha = o.value("alpha", 0.99),
                                                                       .eps = o.value("eps", 1e-8),
                                                                       .weight_decay = o.value("weight_decay", 0.0),
                                                                       .momentum = o.value("momentum", 0.0),
                                                                       .centered = o.value("centered", false)});
  if (kind == "Adagrad")
    return std::make_unique<Adagrad>(
        std::move(groups),
        AdagradOptions{.lr = o.value("lr", 1e-2),
                       .lr_decay = o.value("lr_decay", 0.0),
                       .weight_decay = o.value("weight_decay", 0.0),
                       .initial_accumulator_value = o.value("initial_accumulator_value", 0.0),
                       .eps = o.value("eps", 1e-10)});
  throw Error("optim_fixtures.json: unknown optimizer " + kind);
}

std::vector<Tensor> fixture_params(const nlohmann::json& c, DType dtype) {
  std::vector<Tensor> params;
  for (const auto& p : c["params"]) {
    params.push_back(fixture_tensor(p, dtype));
    params.back().set_requires_grad(true);
  }
  return params;
}

// The case's groups: one with every parameter, or the fixture's, with lr and weight_decay
// overrides as fields and the rest as named options.
std::vector<ParamGroup> fixture_groups(const nlohmann::json& c, const std::vector<Tensor>& params) {
  if (!c.contains("groups")) return {ParamGroup{.params = params}};
  std::vector<ParamGroup> groups;
  for (const auto& g : c["groups"]) {
    ParamGroup group;
    for (const auto& i : g["params"]) group.params.push_back(params[i.get<std::size_t>()]);
    for (const auto& [key, value] : g["overrides"].items()) {
      if (key == "lr") group.lr = value.get<double>();
      else if (key == "weight_decay") group.weight_decay = value.get<double>();
      else group.options[key] = value.get<double>();
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// Sets the gradient of params[k] to the fixture's step-s gradient: through the autograd engine
// (backward of sum(p * G), whose gradient is G) or by writing the leaf's grad directly.
void set_gradients(const nlohmann::json& c, std::size_t s, std::vector<Tensor>& params, DType dtype,
                   bool through_backward) {
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor g = fixture_tensor(c["grads"][s][k], dtype);
    if (through_backward) {
      params[k].zero_grad();
      sum(mul(params[k], g)).backward();
    } else {
      params[k].impl().grad = g.impl_ptr();
    }
  }
}

void replay(const nlohmann::json& c, DType dtype, double tol, bool through_backward) {
  SCOPED_TRACE(c["name"].get<std::string>() + " in " + dtype_name(dtype));
  std::vector<Tensor> params = fixture_params(c, dtype);
  auto opt = make_optimizer(c["optimizer"], c["options"], fixture_groups(c, params));
  for (std::size_t s = 0; s < c["grads"].size(); ++s) {
    set_gradients(c, s, params, dtype, through_backward);
    opt->step();
    for (std::size_t k = 0; k < params.size(); ++k) {
      SCOPED_TRACE("step " + std::to_string(s + 1) + ", parameter " + std::to_string(k));
      expect_values(params[k], c["expected"][s][k]["data"].get<std::vector<double>>(), tol);
    }
  }
}

// float64 agrees with torch's float64 to rounding; 1e-9 (relative, as |d| <= tol (1 + |x|))
// leaves room only for a different operation order.
constexpr double kFloat64Tolerance = 1e-9;
// float32 state and arithmetic drift from torch's float64 values by a few ulps per step
// (under 1e-6 over the 5 steps of every fixture; 5e-6 leaves margin for other compilers).
constexpr double kFloat32Tolerance = 5e-6;

TEST(Optimizers, MatchTorchInFloat64) {
  for (const auto& c : optim_fixtures()["optimizers"]) replay(c, DType::Float64, kFloat64Tolerance, true);
}

TEST(Optimizers, MatchTorchInFloat32) {
  for (const auto& c : optim_fixtures()["optimizers"]) replay(c, DType::Float32, kFloat32Tolerance, false);
}

TEST(Optimizers, ParameterGroupsMatchTorch) {
  for (const auto& c : optim_fixtures()["groups"]) {
    replay(c, DType::Float64, kFloat64Tolerance, false);
    replay(c, DType::Float32, kFloat32Tolerance, false);
  }
}

TEST(Optimizers, GroupsResolveDefaults) {
  Tensor w = Tensor::ones({2}).set_requires_grad(), b = Tensor::ones({2}).set_requires_grad();
  AdamW opt({ParamGroup{.params = {w}}, ParamGroup{.params = {b}, .weight_decay = 0.0}}, {.lr = 0.5});
  ASSERT_EQ(opt.groups().size(), 2u);
  EXPECT_EQ(*opt.groups()[0].lr, 0.5);
  EXPECT_EQ(*opt.groups()[0].weight_decay, 1e-2);  // AdamW's default
  EXPECT_EQ(*opt.groups()[1].weight_decay, 0.0);
  opt.set_lr(0.25);
  EXPECT_EQ(opt.lr(0), 0.25);
  EXPECT_EQ(opt.lr(1), 0.25);
  opt.set_lr(1, 0.125);
  EXPECT_EQ(opt.lr(), 0.25);
  EXPECT_EQ(opt.lr(1), 0.125);
  EXPECT_EQ(opt.num_params(), 2u);
  EXPECT_STREQ(opt.name(), "AdamW");
}

TEST(Optimizers, FlatParameterListIsOneGroup) {
  Tensor w = Tensor::full({3}, 1.0).set_requires_grad();
  SGD opt({w}, {.lr = 0.5});
  EXPECT_EQ(opt.groups().size(), 1u);
  w.impl().grad = Tensor::full({3}, 2.0).impl_ptr();
  opt.step();
  expect_values(w, {0.0, 0.0, 0.0}, 0);
}

TEST(Optimizers, FrozenAndGradlessParametersAreUntouched) {
  Tensor a = Tensor::full({4}, 1.0).set_requires_grad();
  Tensor frozen = Tensor::full({4}, 1.0);  // requires_grad false, yet given a gradient
  Tensor unused = Tensor::full({4}, 1.0).set_requires_grad();
  frozen.impl().grad = Tensor::full({4}, 3.0).impl_ptr();
  a.impl().grad = Tensor::full({4}, 3.0).impl_ptr();
  Adam opt({a, frozen, unused}, {.lr = 0.1});
  opt.step();
  opt.step();
  EXPECT_NE(a.to_vector()[0], 1.0);
  EXPECT_EQ(frozen.to_vector(), std::vector<double>(4, 1.0));
  EXPECT_EQ(unused.to_vector(), std::vector<double>(4, 1.0));
  const auto tensors = opt.state_tensors();
  EXPECT_EQ(tensors.size(), 2u);  // exp_avg and exp_avg_sq of parameter 0 only
  EXPECT_TRUE(tensors.count("param.0.exp_avg"));
  const auto scalars = opt.state_scalars();
  EXPECT_EQ(scalars.at("param.0.step"), "2");
  EXPECT_FALSE(scalars.count("param.2.step"));
  // Once it has a gradient the unused parameter starts at step 1: Adam's first step moves each
  // element by lr (the bias-corrected ratio is sign(g)), whatever a's history.
  unused.impl().grad = Tensor::full({4}, 3.0).impl_ptr();
  opt.step();
  EXPECT_EQ(opt.state_scalars().at("param.2.step"), "1");
  expect_values(unused, std::vector<double>(4, 0.9), 1e-6);
}

TEST(Optimizers, ZeroGrad) {
  Tensor a = Tensor::full({2}, 1.0).set_requires_grad();
  a.impl().grad = Tensor::full({2}, 3.0).impl_ptr();
  SGD opt({a}, {.lr = 1});
  opt.zero_grad(false);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().to_vector(), std::vector<double>(2, 0.0));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  opt.step();  // no gradients: nothing to do
  EXPECT_EQ(a.to_vector(), std::vector<double>(2, 1.0));
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

// Two steps, save, three more; against a fresh optimizer over copies of the parameters that
// loads the saved state and takes the same three steps: every parameter and buffer identical.
TEST(Optimizers, SaveRestoreContinuesBitForBit) {
  std::vector<nlohmann::json> cases(optim_fixtures()["optimizers"].begin(), optim_fixtures()["optimizers"].end());
  for (const auto& c : optim_fixtures()["groups"]) cases.push_back(c);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const DType dtype = DType::Float32;
    std::vector<Tensor> params = fixture_params(c, dtype);
    auto opt = make_optimizer(c["optimizer"], c["options"], fixture_groups(c, params));
    for (std::size_t s = 0; s < 2; ++s) {
      set_gradients(c, s, params, dtype, false);
      opt->step();
    }
    opt->set_lr(0, opt->lr(0) * 0.5);  // as a schedule would: the lr is part of the state
    const auto tensors = opt->state_tensors();
    const auto scalars = opt->state_scalars();
    std::vector<Tensor> restored;
    for (const Tensor& p : params) {
      restored.push_back(p.copy());
      restored.back().set_requires_grad(true);
    }
    for (std::size_t s = 2; s < 5; ++s) {
      set_gradients(c, s, params, dtype, false);
      opt->step();
    }
    auto opt2 = make_optimizer(c["optimizer"], c["options"], fixture_groups(c, restored));
    opt2->load_state(tensors, scalars);
    EXPECT_EQ(opt2->lr(0), opt->lr(0));
    for (std::size_t s = 2; s < 5; ++s) {
      set_gradients(c, s, restored, dtype, false);
      opt2->step();
    }
    for (std::size_t k = 0; k < params.size(); ++k) EXPECT_TRUE(bitwise_equal(params[k], restored[k])) << k;
    const auto end1 = opt->state_tensors(), end2 = opt2->state_tensors();
    ASSERT_EQ(end1.size(), end2.size());
    for (const auto& [key, t] : end1) EXPECT_TRUE(bitwise_equal(t, end2.at(key))) << key;
    EXPECT_EQ(opt->state_scalars(), opt2->state_scalars());
  }
}

TEST(Optimizers, StateTensorsAreCopies) {
  Tensor a = Tensor::full({2}, 1.0).set_requires_grad();
  a.impl().grad = Tensor::full({2}, 1.0).impl_ptr();
  SGD opt({a}, {.lr = 0.1, .momentum = 0.9});
  opt.step();
  const auto saved = opt.state_tensors();
  const std::vector<double> before = saved.at("param.0.momentum_buffer").to_vector();
  opt.step();
  EXPECT_EQ(saved.at("param.0.momentum_buffer").to_vector(), before);
}

// Elementwise kernels split statically: the result is the same for 1 and 2 threads, and the
// parallel path (above kernels::kParallelGrain) agrees with the serial one.
TEST(Optimizers, SameResultForAnyThreadCount) {
  const std::int64_t n = 3 * kernels::kParallelGrain + 17;
  auto run = [&](int threads) {
    const int saved = num_threads();
    set_num_threads(threads);
    Generator gen(7);
    Tensor p = rand({n}, -1, 1, DType::Float32, &gen);
    p.set_requires_grad(true);
    std::vector<std::unique_ptr<Optimizer>> opts;
    opts.push_back(std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.weight_decay = 0.1, .amsgrad = true}));
    for (int s = 0; s < 3; ++s) {
      p.impl().grad = rand({n}, -1, 1, DType::Float32, &gen).impl_ptr();
      opts[0]->step();
    }
    set_num_threads(saved);
    return p;
  };
  EXPECT_TRUE(bitwise_equal(run(1), run(2)));
}

// ---- errors ----

TEST(Optimizers, OptionErrors) {
  Tensor w = Tensor::ones({2, 3}).set_requires_grad(), b = Tensor::ones({3}).set_requires_grad();
  expect_error([&] { SGD({w}, {}); }, {"SGD: lr must be given"});
  expect_error([&] { SGD({w}, {.lr = -0.1}); }, {"SGD: lr must be >= 0, got -0.1"});
  expect_error([&] { SGD({w}, {.lr = 0.1, .momentum = -1}); }, {"SGD: momentum must be >= 0, got -1"});
  expect_error([&] { SGD({w}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
               {"SGD: nesterov momentum needs momentum > 0 and dampening == 0", "dampening 0.1"});
  expect_error([&] { Adam({w}, {.beta1 = 1.0}); }, {"Adam: beta1 must be in [0, 1), got 1"});
  expect_error([&] { Adam({w}, {.beta2 = -0.5}); }, {"Adam: beta2 must be in [0, 1), got -0.5"});
  expect_error([&] { Adam({w}, {.eps = -1e-8}); }, {"Adam: eps must be >= 0, got -1e-08"});
  expect_error([&] { AdamW({w}, {.weight_decay = -1}); }, {"AdamW: weight_decay must be >= 0, got -1"});
  expect_error([&] { RMSProp({w}, {.alpha = -0.1}); }, {"RMSProp: alpha must be >= 0, got -0.1"});
  expect_error([&] { RMSProp({w}, {.momentum = -0.1}); }, {"RMSProp: momentum must be >= 0, got -0.1"});
  expect_error([&] { Adagrad({w}, {.lr_decay = -1}); }, {"Adagrad: lr_decay must be >= 0, got -1"});
  expect_error([&] { Adagrad({w}, {.initial_accumulator_value = -1}); },
               {"Adagrad: initial_accumulator_value must be >= 0, got -1"});
  expect_error([&] { Adam({ParamGroup{.params = {w}}, ParamGroup{.params = {b}, .options = {{"momentum", 0.9}}}}); },
               {"Adam: group 1: unknown option \"momentum\""});
  expect_error([&] { Adam({ParamGroup{.params = {w}}, ParamGroup{.params = {b}, .lr = -1.0}}); },
               {"Adam: group 1: lr must be >= 0, got -1"});
  expect_error([&] { Adam({ParamGroup{.params = {w}}, ParamGroup{.params = {b}, .options = {{"beta1", 2.0}}}}); },
               {"Adam: group 1: beta1 must be in [0, 1), got 2"});
  expect_error([&] { Adam({ParamGroup{.params = {w, b}}, ParamGroup{.params = {b}}}); },
               {"Adam: group 1: parameter 2 appears more than once"});
  expect_error([&] { Adam(std::vector<Tensor>{}); }, {"Adam: the group has no parameters"});
  expect_error([&] { Adam({mul(w, w)}); }, {"Adam: parameter 0 is not a leaf", "mul"});
  expect_error([&] { Adam({transpose(w, 0, 1)}); }, {"Adam: parameter 0 must be contiguous"});
  Adam opt({w});
  expect_error([&] { opt.set_lr(-1); }, {"Adam: lr must be >= 0, got -1"});
  expect_error([&] { opt.set_lr(INFINITY); }, {"Adam: lr must be finite, got inf"});
  expect_error([&] { SGD({w}, {.lr = INFINITY}); }, {"SGD: lr must be finite, got inf"});
  expect_error([&] { AdamW({w}, {.weight_decay = INFINITY}); }, {"AdamW: weight_decay must be finite, got inf"});
  expect_error([&] { Adam({ParamGroup{.params = {w}}, ParamGroup{.params = {b}, .lr = INFINITY}}); },
               {"Adam: group 1: lr must be finite, got inf"});
  expect_error([&] { opt.set_lr(3, 0.1); }, {"Adam: set_lr: group 3 out of range (1 groups)"});
  w.impl().grad = Tensor::ones({3, 2}).impl_ptr();
  expect_error([&] { opt.step(); }, {"Adam: parameter 0: gradient is a float32 tensor of shape [3, 2]",
                                     "float32 tensor of shape [2, 3]"});
}

TEST(Optimizers, LoadStateErrors) {
  Tensor w = Tensor::ones({2, 3}).set_requires_grad(), b = Tensor::ones({3}).set_requires_grad();
  w.impl().grad = Tensor::ones({2, 3}).impl_ptr();
  b.impl().grad = Tensor::ones({3}).impl_ptr();
  Adam adam({w, b});
  adam.step();
  const auto tensors = adam.state_tensors();
  const auto scalars = adam.state_scalars();

  SGD sgd({w, b}, {.lr = 0.1, .momentum = 0.9});
  expect_error([&] { sgd.load_state(tensors, scalars); }, {"SGD: load_state: the state is from a Adam optimizer"});

  Tensor w2 = Tensor::ones({3, 2}).set_requires_grad(), b2 = Tensor::ones({3}).set_requires_grad();
  Adam other({w2, b2});
  expect_error([&] { other.load_state(tensors, scalars); },
               {"key \"param.0.exp_avg", "shape [2, 3] does not match the parameter's [3, 2]"});

  Adam two_groups({ParamGroup{.params = {w}}, ParamGroup{.params = {b}}});
  expect_error([&] { two_groups.load_state(tensors, scalars); },
               {"Adam: load_state: the state has 1 parameter groups, this optimizer 2"});

  Adam fresh({w, b});
  auto missing = tensors;
  missing.erase("param.1.exp_avg_sq");
  expect_error([&] { fresh.load_state(missing, scalars); }, {"missing key \"param.1.exp_avg_sq\""});
  auto extra = tensors;
  extra["param.1.momentum_buffer"] = Tensor::zeros({3});
  expect_error([&] { fresh.load_state(extra, scalars); }, {"unknown key \"param.1.momentum_buffer\""});
  auto out_of_range = tensors;
  out_of_range["param.7.exp_avg"] = Tensor::zeros({3});
  expect_error([&] { fresh.load_state(out_of_range, scalars); },
               {"key \"param.7.exp_avg\" names parameter 7, but this optimizer has 2"});
  auto bad_step = scalars;
  bad_step["param.0.step"] = "two";
  expect_error([&] { fresh.load_state(tensors, bad_step); }, {"key \"param.0.step\" holds \"two\", not an integer"});
  auto no_lr = scalars;
  no_lr.erase("group.0.lr");
  expect_error([&] { fresh.load_state(tensors, no_lr); }, {"missing key \"group.0.lr\""});
  // A failed load changes nothing.
  EXPECT_TRUE(fresh.state_tensors().empty());
  fresh.load_state(tensors, scalars);
  EXPECT_EQ(fresh.state_tensors().size(), 4u);
}

}  // namespace
}  // namespace ouro::testing
