// LR schedules against torch's schedulers (StepLR, ExponentialLR, ReduceLROnPlateau, and a
// LambdaLR with WarmupCosineSchedule's formula), save/restore, and errors.
#include <cmath>
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

// Two groups with the fixture's base lrs, as the generator's optimizer has.
struct TwoGroups {
  Tensor a = Tensor::zeros({2}).set_requires_grad();
  Tensor b = Tensor::zeros({2}).set_requires_grad();
  SGD opt;
  explicit TwoGroups(const std::vector<double>& lrs)
      : opt({ParamGroup{.params = {a}, .lr = lrs[0]}, ParamGroup{.params = {b}, .lr = lrs[1]}}, {.lr = 1.0}) {}
};

std::unique_ptr<Schedule> make_schedule(const nlohmann::json& c, Optimizer& opt) {
  const std::string kind = c["schedule"];
  const auto& o = c["options"];
  if (kind == "step")
    return std::make_unique<StepSchedule>(opt, StepScheduleOptions{.step_size = o["step_size"], .gamma = o["gamma"]});
  if (kind == "exponential") return std::make_unique<ExponentialSchedule>(opt, ExponentialScheduleOptions{o["gamma"]});
  if (kind.rfind("warmup_cosine", 0) == 0)
    return std::make_unique<WarmupCosineSchedule>(
        opt, WarmupCosineOptions{.warmup_steps = o["warmup_steps"], .total_steps = o["total_steps"], .min_lr = o["min_lr"]});
  throw Error("optim_fixtures.json: unknown schedule " + kind);
}

PlateauOptions plateau_options(const nlohmann::json& o) {
  PlateauOptions p;
  p.mode = o.value("mode", std::string("min")) == "min" ? PlateauMode::Min : PlateauMode::Max;
  p.factor = o.value("factor", p.factor);
  p.patience = o.value("patience", p.patience);
  p.threshold = o.value("threshold", p.threshold);
  p.threshold_mode = o.value("threshold_mode", std::string("rel")) == "rel" ? ThresholdMode::Rel : ThresholdMode::Abs;
  p.cooldown = o.value("cooldown", p.cooldown);
  p.min_lr = o.value("min_lr", p.min_lr);
  return p;
}

void expect_lrs(const std::vector<double>& got, const nlohmann::json& expected, const std::string& where) {
  const auto want = expected.get<std::vector<double>>();
  ASSERT_EQ(got.size(), want.size()) << where;
  for (std::size_t g = 0; g < got.size(); ++g)
    EXPECT_NEAR(got[g], want[g], 1e-12 * std::abs(want[g]) + 1e-18) << where << ", group " << g;
}

TEST(Schedule, ClosedFormsMatchTorch) {
  for (const auto& c : optim_fixtures()["schedules"]) {
    if (c["schedule"] == "plateau") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    TwoGroups setup(c["base_lrs"]);
    auto schedule = make_schedule(c, setup.opt);
    const auto& lrs = c["lrs"];
    expect_lrs(schedule->last_lr(), lrs[0], "step 0");
    for (std::size_t t = 1; t < lrs.size(); ++t) {
      schedule->step();
      EXPECT_EQ(schedule->last_step(), static_cast<std::int64_t>(t));
      expect_lrs(setup.opt.groups().size() == 2 ? std::vector<double>{setup.opt.lr(0), setup.opt.lr(1)}
                                                : std::vector<double>{},
                 lrs[t], "step " + std::to_string(t));
    }
  }
}

TEST(Schedule, PlateauMatchesTorch) {
  for (const auto& c : optim_fixtures()["schedules"]) {
    if (c["schedule"] != "plateau") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    TwoGroups setup(c["base_lrs"]);
    ReduceLROnPlateau plateau(setup.opt, plateau_options(c["options"]));
    const auto metrics = c["metrics"].get<std::vector<double>>();
    expect_lrs(plateau.last_lr(), c["lrs"][0], "start");
    for (std::size_t t = 0; t < metrics.size(); ++t) {
      plateau.step(metrics[t]);
      expect_lrs(plateau.last_lr(), c["lrs"][t + 1], "metric " + std::to_string(t));
    }
  }
}

TEST(Schedule, ConstantKeepsBaseLr) {
  TwoGroups setup({0.1, 0.01});
  ConstantSchedule schedule(setup.opt);
  for (int t = 0; t < 5; ++t) schedule.step();
  EXPECT_EQ(schedule.last_lr(), (std::vector<double>{0.1, 0.01}));
}

// Save after a few steps, keep going; a new scheduler (over a new optimizer) that loads the
// state follows the same sequence exactly.
TEST(Schedule, SaveRestoreContinues) {
  {
    TwoGroups first({0.1, 0.01}), second({0.5, 0.5});
    WarmupCosineSchedule a(first.opt, {.warmup_steps = 2, .total_steps = 9, .min_lr = 1e-3});
    for (int t = 0; t < 4; ++t) a.step();
    const auto state = a.state();
    EXPECT_EQ(state.at("last_step"), "4");
    EXPECT_EQ(state.at("group.1.base_lr"), "0.01");
    WarmupCosineSchedule b(second.opt, {.warmup_steps = 2, .total_steps = 9, .min_lr = 1e-3});
    b.load_state(state);
    EXPECT_EQ(b.last_lr(), a.last_lr());
    for (int t = 0; t < 6; ++t) {
      a.step();
      b.step();
      EXPECT_EQ(b.last_lr(), a.last_lr());
    }
  }
  {
    TwoGroups first({0.1, 0.01}), second({0.1, 0.01});
    ReduceLROnPlateau a(first.opt, {.patience = 1, .cooldown = 2});
    const std::vector<double> metrics{1, 0.9, 0.95, 0.97, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1};
    for (std::size_t t = 0; t < 5; ++t) a.step(metrics[t]);
    // The lr lives in the optimizer's state, the counters in the scheduler's.
    second.opt.load_state(first.opt.state_tensors(), first.opt.state_scalars());
    ReduceLROnPlateau b(second.opt, {.patience = 1, .cooldown = 2});
    b.load_state(a.state());
    EXPECT_EQ(b.best(), a.best());
    EXPECT_EQ(b.cooldown_counter(), a.cooldown_counter());
    for (std::size_t t = 5; t < metrics.size(); ++t) {
      a.step(metrics[t]);
      b.step(metrics[t]);
      EXPECT_EQ(b.last_lr(), a.last_lr()) << t;
    }
  }
}

TEST(Schedule, Errors) {
  TwoGroups setup({0.1, 0.01});
  expect_error([&] { StepSchedule(setup.opt, {.step_size = 0}); }, {"StepSchedule: step_size must be >= 1, got 0"});
  expect_error([&] { ExponentialSchedule(setup.opt, {.gamma = -1}); },
               {"ExponentialSchedule: gamma must be >= 0, got -1"});
  expect_error([&] { WarmupCosineSchedule(setup.opt, {.warmup_steps = 5, .total_steps = 3}); },
               {"WarmupCosineSchedule: total_steps (3) must be >= warmup_steps (5)"});
  expect_error([&] { ReduceLROnPlateau(setup.opt, {.factor = 1.0}); },
               {"ReduceLROnPlateau: factor must be < 1, got 1"});
  expect_error([&] { ReduceLROnPlateau(setup.opt, {.patience = -1}); },
               {"ReduceLROnPlateau: patience must be >= 0, got -1"});
  StepSchedule step(setup.opt, {.step_size = 2});
  ExponentialSchedule exponential(setup.opt, {.gamma = 0.5});
  expect_error([&] { exponential.load_state(step.state()); },
               {"ExponentialSchedule: load_state: the state is from a StepSchedule scheduler"});
  auto state = step.state();
  state.erase("last_step");
  expect_error([&] { step.load_state(state); }, {"StepSchedule: load_state: missing key \"last_step\""});
  Tensor c = Tensor::zeros({2}).set_requires_grad();
  SGD one_group({c}, {.lr = 0.1});
  StepSchedule other(one_group, {.step_size = 2});
  expect_error([&] { other.load_state(step.state()); },
               {"StepSchedule: load_state: the state has 2 parameter groups, the optimizer 1"});
}

}  // namespace
}  // namespace ouro::testing
