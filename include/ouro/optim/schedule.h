// Learning-rate schedules: each sets the lr of every group of an Optimizer, from the group's
// base lr (its lr when the scheduler was made) and the step count, or, for ReduceLROnPlateau,
// from a metric it is fed. Each has save/restore of its state for checkpoints.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ouro/optim/optimizer.h"

namespace ouro {

class LrScheduler {
 public:
  virtual ~LrScheduler() = default;
  LrScheduler(const LrScheduler&) = delete;
  LrScheduler& operator=(const LrScheduler&) = delete;

  const char* name() const { return name_; }
  Optimizer& optimizer() const { return optimizer_; }
  std::vector<double> last_lr() const;  // every group's current lr

  // Exact decimal strings: "scheduler" (the name), "groups", "group.<g>.base_lr", plus the
  // schedule's counters.
  virtual std::map<std::string, std::string> state() const;
  // Restores a state saved by a scheduler of the same kind over as many groups.
  virtual void load_state(const std::map<std::string, std::string>& state);

 protected:
  LrScheduler(Optimizer& optimizer, const char* name);
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 private:
  Optimizer& optimizer_;
  const char* name_;
  std::vector<double> base_lrs_;
};

// A schedule with a closed form: group g's lr at step t is lr_at(base_lr[g], t). Construction
// sets step 0's lr; each step() advances t by one (call it after optimizer.step(), once per
// step or once per epoch, whichever t counts), as torch's schedulers do.
class Schedule : public LrScheduler {
 public:
  void step();
  std::int64_t last_step() const { return step_; }
  virtual double lr_at(double base_lr, std::int64_t step) const = 0;

  std::map<std::string, std::string> state() const override;  // adds "last_step"
  void load_state(const std::map<std::string, std::string>& state) override;

 protected:
  using LrScheduler::LrScheduler;
  void apply();  // sets every group's lr for the current step; subclasses call it last in their constructor

 private:
  std::int64_t step_ = 0;
};

// lr = base_lr throughout.
class ConstantSchedule : public Schedule {
 public:
  explicit ConstantSchedule(Optimizer& optimizer);
  double lr_at(double base_lr, std::int64_t step) const override;
};

struct StepScheduleOptions {
  std::int64_t step_size = 1;
  double gamma = 0.1;
};

// lr = base_lr * gamma^floor(step / step_size): torch's StepLR.
class StepSchedule : public Schedule {
 public:
  StepSchedule(Optimizer& optimizer, const StepScheduleOptions& options);
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  StepScheduleOptions options_;
};

struct ExponentialScheduleOptions {
  double gamma = 0.1;
};

// lr = base_lr * gamma^step: torch's ExponentialLR.
class ExponentialSchedule : public Schedule {
 public:
  ExponentialSchedule(Optimizer& optimizer, const ExponentialScheduleOptions& options);
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  ExponentialScheduleOptions options_;
};

struct WarmupCosineOptions {
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;  // the step at which the lr reaches min_lr (and stays)
  double min_lr = 0;             // absolute, the same for every group (as torch's eta_min)
};

// Linear warm-up, then cosine decay:
//   t < warmup:  lr = base_lr * (t + 1) / warmup
//   otherwise:   p = min(1, (t - warmup) / max(1, total - warmup)),
//                lr = min_lr + (base_lr - min_lr) * (1 + cos(pi p)) / 2
// The warm-up starts at base_lr / warmup rather than 0, so the first step is not wasted.
class WarmupCosineSchedule : public Schedule {
 public:
  WarmupCosineSchedule(Optimizer& optimizer, const WarmupCosineOptions& options);
  double lr_at(double base_lr, std::int64_t step) const override;

 private:
  WarmupCosineOptions options_;
};

enum class PlateauMode { Min, Max };
enum class ThresholdMode { Rel, Abs };

// torch.optim.lr_scheduler.ReduceLROnPlateau's options and defaults.
struct PlateauOptions {
  PlateauMode mode = PlateauMode::Min;
  double factor = 0.1;  // new lr = max(lr * factor, min_lr)
  std::int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  std::int64_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;  // a reduction smaller than this is skipped
};

// Multiplies every group's lr by factor once the metric has not improved (by threshold) for
// more than patience steps, then waits cooldown steps before counting again.
class ReduceLROnPlateau : public LrScheduler {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, const PlateauOptions& options = {});
  void step(double metric);

  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }

  // adds "last_epoch", "best", "num_bad_epochs", "cooldown_counter"
  std::map<std::string, std::string> state() const override;
  void load_state(const std::map<std::string, std::string>& state) override;

 private:
  bool is_better(double value) const;

  PlateauOptions options_;
  std::int64_t last_epoch_ = 0;
  double best_;
  std::int64_t num_bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
};

}  // namespace ouro
