// Progress display for Trainer::fit: a live one-line bar on a terminal, one plain line per
// epoch otherwise (logs, pipes, CI).
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

#include "ouro/train/callbacks.h"

namespace ouro {

// Auto: Bar when the stream is a terminal (isatty), else Lines. Silent: nothing.
enum class Verbosity { Auto, Bar, Lines, Silent };

// Bar: "epoch 2/10  37/120 [=====>      ] loss 0.4312 accuracy 0.8810 1532 samples/s ETA 4s",
// redrawn in place with '\r' at most every 0.1 s (and at each epoch's last step), then
// completed with the epoch's validation values and a newline. Lines: at each epoch end,
// "epoch 2/10 - 120 steps - 1.3s - 1532 samples/s - loss 0.4312 - ... - lr 0.001".
// A stop request is printed as "stopped: <reason>".
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(Verbosity mode = Verbosity::Auto, std::FILE* out = stdout);
  Verbosity mode() const { return mode_; }  // Bar or Lines once resolved

  void on_train_begin() override;
  void on_epoch_begin(std::int64_t epoch) override;
  void on_batch_end(std::int64_t step, const Logs& logs) override;
  void on_epoch_end(std::int64_t epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

 private:
  using Clock = std::chrono::steady_clock;
  void draw(const Logs& logs, bool final);
  Verbosity mode_;
  std::FILE* out_;
  Clock::time_point epoch_start_, last_draw_;
  std::int64_t epoch_ = 0;
  // Where this process started counting in the epoch (a resumed run starts mid-epoch).
  std::int64_t start_step_ = 0, start_samples_ = 0;
  bool counting_ = false;
  std::string line_;
  bool bar_open_ = false;  // a bar is drawn and waits for its newline
};

// Values as progress and log lines show them: 4 significant digits, "nan"/"inf" spelled out.
std::string format_metric(double value);

}  // namespace ouro
