#include "ouro/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "ouro/core/error.h"
#include "state_format.h"

namespace ouro {
using namespace optim_detail;

// ---- LrScheduler ----

LrScheduler::LrScheduler(Optimizer& optimizer, const char* name) : optimizer_(optimizer), name_(name) {
  for (std::size_t g = 0; g < optimizer.groups().size(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

std::vector<double> LrScheduler::last_lr() const {
  std::vector<double> out;
  for (std::size_t g = 0; g < optimizer_.groups().size(); ++g) out.push_back(optimizer_.lr(g));
  return out;
}

std::map<std::string, std::string> LrScheduler::state() const {
  std::map<std::string, std::string> out;
  out["scheduler"] = name_;
  out["groups"] = format_int(static_cast<std::int64_t>(base_lrs_.size()));
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    out["group." + std::to_string(g) + ".base_lr"] = format_double(base_lrs_[g]);
  return out;
}

void LrScheduler::load_state(const std::map<std::string, std::string>& state) {
  const std::string& kind = require_key(state, "scheduler", name_);
  OURO_CHECK(kind == name_, name_, ": load_state: the state is from a ", kind, " scheduler");
  const std::int64_t groups = parse_int(state, "groups", name_);
  OURO_CHECK(groups == static_cast<std::int64_t>(base_lrs_.size()), name_, ": load_state: the state has ", groups,
             " parameter groups, the optimizer ", base_lrs_.size());
  std::vector<double> base(base_lrs_.size());
  for (std::size_t g = 0; g < base.size(); ++g) {
    const std::string key = "group." + std::to_string(g) + ".base_lr";
    base[g] = parse_double(state, key, name_);
    OURO_CHECK(base[g] >= 0, name_, ": load_state: key \"", key, "\": lr must be >= 0, got ", base[g]);
  }
  base_lrs_ = std::move(base);
}

// ---- Schedule ----

void Schedule::apply() {
  for (std::size_t g = 0; g < base_lrs().size(); ++g) optimizer().set_lr(g, lr_at(base_lrs()[g], step_));
}

void Schedule::step() {
  ++step_;
  apply();
}

std::map<std::string, std::string> Schedule::state() const {
  auto out = LrScheduler::state();
  out["last_step"] = format_int(step_);
  return out;
}

void Schedule::load_state(const std::map<std::string, std::string>& state) {
  const std::int64_t step = parse_int(state, "last_step", name());
  OURO_CHECK(step >= 0, name(), ": load_state: key \"last_step\": must be >= 0, got ", step);
  LrScheduler::load_state(state);
  step_ = step;
  apply();
}

ConstantSchedule::ConstantSchedule(Optimizer& optimizer) : Schedule(optimizer, "ConstantSchedule") { apply(); }

double ConstantSchedule::lr_at(double base_lr, std::int64_t) const { return base_lr; }

StepSchedule::StepSchedule(Optimizer& optimizer, const StepScheduleOptions& options)
    : Schedule(optimizer, "StepSchedule"), options_(options) {
  OURO_CHECK(options.step_size >= 1, "StepSchedule: step_size must be >= 1, got ", options.step_size);
  OURO_CHECK(options.gamma >= 0, "StepSchedule: gamma must be >= 0, got ", options.gamma);
  apply();
}

double StepSchedule::lr_at(double base_lr, std::int64_t step) const {
  return base_lr * std::pow(options_.gamma, static_cast<double>(step / options_.step_size));
}

ExponentialSchedule::ExponentialSchedule(Optimizer& optimizer, const ExponentialScheduleOptions& options)
    : Schedule(optimizer, "ExponentialSchedule"), options_(options) {
  OURO_CHECK(options.gamma >= 0, "ExponentialSchedule: gamma must be >= 0, got ", options.gamma);
  apply();
}

double ExponentialSchedule::lr_at(double base_lr, std::int64_t step) const {
  return base_lr * std::pow(options_.gamma, static_cast<double>(step));
}

WarmupCosineSchedule::WarmupCosineSchedule(Optimizer& optimizer, const WarmupCosineOptions& options)
    : Schedule(optimizer, "WarmupCosineSchedule"), options_(options) {
  OURO_CHECK(options.warmup_steps >= 0, "WarmupCosineSchedule: warmup_steps must be >= 0, got ",
             options.warmup_steps);
  OURO_CHECK(options.total_steps >= options.warmup_steps, "WarmupCosineSchedule: total_steps (",
             options.total_steps, ") must be >= warmup_steps (", options.warmup_steps, ")");
  OURO_CHECK(options.min_lr >= 0, "WarmupCosineSchedule: min_lr must be >= 0, got ", options.min_lr);
  apply();
}

double WarmupCosineSchedule::lr_at(double base_lr, std::int64_t step) const {
  const std::int64_t warmup = options_.warmup_steps;
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<std::int64_t>(1, options_.total_steps - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  return options_.min_lr + (base_lr - options_.min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const PlateauOptions& options)
    : LrScheduler(optimizer, "ReduceLROnPlateau"), options_(options) {
  OURO_CHECK(options.factor < 1, "ReduceLROnPlateau: factor must be < 1, got ", options.factor);
  OURO_CHECK(options.factor >= 0, "ReduceLROnPlateau: factor must be >= 0, got ", options.factor);
  OURO_CHECK(options.patience >= 0, "ReduceLROnPlateau: patience must be >= 0, got ", options.patience);
  OURO_CHECK(options.cooldown >= 0, "ReduceLROnPlateau: cooldown must be >= 0, got ", options.cooldown);
  OURO_CHECK(options.min_lr >= 0, "ReduceLROnPlateau: min_lr must be >= 0, got ", options.min_lr);
  best_ = options.mode == PlateauMode::Min ? std::numeric_limits<double>::infinity()
                                           : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
  const bool rel = options_.threshold_mode == ThresholdMode::Rel;
  if (options_.mode == PlateauMode::Min) return rel ? a < best_ * (1 - options_.threshold) : a < best_ - options_.threshold;
  return rel ? a > best_ * (options_.threshold + 1) : a > best_ + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > options_.patience) {
    Optimizer& opt = optimizer();
    for (std::size_t g = 0; g < opt.groups().size(); ++g) {
      const double old_lr = opt.lr(g);
      const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
      if (old_lr - new_lr > options_.eps) opt.set_lr(g, new_lr);
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
}

std::map<std::string, std::string> ReduceLROnPlateau::state() const {
  auto out = LrScheduler::state();
  out["last_epoch"] = format_int(last_epoch_);
  out["best"] = format_double(best_);
  out["num_bad_epochs"] = format_int(num_bad_epochs_);
  out["cooldown_counter"] = format_int(cooldown_counter_);
  return out;
}

void ReduceLROnPlateau::load_state(const std::map<std::string, std::string>& state) {
  const std::int64_t last_epoch = parse_int(state, "last_epoch", name());
  const double best = parse_double(state, "best", name());
  const std::int64_t bad = parse_int(state, "num_bad_epochs", name());
  const std::int64_t cooldown = parse_int(state, "cooldown_counter", name());
  OURO_CHECK(bad >= 0 && cooldown >= 0, name(), ": load_state: counters must be >= 0, got num_bad_epochs ", bad,
             " and cooldown_counter ", cooldown);
  LrScheduler::load_state(state);
  last_epoch_ = last_epoch;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace ouro
