#include "ouro/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "ouro/train/trainer.h"

namespace ouro {
namespace {

// Redrawing more often than this only costs terminal time.
constexpr double kRedrawSeconds = 0.1;
constexpr int kBarWidth = 24;

std::string format_seconds(double seconds) {
  char buffer[32];
  if (seconds < 60) std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  else if (seconds < 3600) std::snprintf(buffer, sizeof buffer, "%dm%02ds", int(seconds / 60), int(seconds) % 60);
  else std::snprintf(buffer, sizeof buffer, "%dh%02dm", int(seconds / 3600), int(seconds / 60) % 60);
  return buffer;
}

}  // namespace

std::string format_metric(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

ProgressBar::ProgressBar(Verbosity mode, std::FILE* out) : mode_(mode), out_(out ? out : stdout) {
  if (mode_ == Verbosity::Auto) mode_ = ::isatty(::fileno(out_)) ? Verbosity::Bar : Verbosity::Lines;
}

void ProgressBar::on_train_begin() {
  epoch_start_ = last_draw_ = Clock::now();
  counting_ = false;
  bar_open_ = false;
}

void ProgressBar::on_epoch_begin(std::int64_t epoch) {
  epoch_ = epoch;
  epoch_start_ = Clock::now();
  start_step_ = start_samples_ = 0;
  counting_ = true;
}

void ProgressBar::on_batch_end(std::int64_t, const Logs& logs) {
  const Trainer& t = trainer();
  if (!counting_) {  // first step of a resumed run: count from here
    epoch_ = t.epoch();
    epoch_start_ = Clock::now();
    start_step_ = t.steps_done_in_epoch();
    start_samples_ = t.samples_in_epoch();
    counting_ = true;
  }
  if (mode_ != Verbosity::Bar) return;
  const Clock::time_point now = Clock::now();
  const bool last = t.steps_done_in_epoch() >= t.steps_per_epoch();
  if (!last && bar_open_ && std::chrono::duration<double>(now - last_draw_).count() < kRedrawSeconds) return;
  last_draw_ = now;
  draw(logs, false);
}

void ProgressBar::draw(const Logs& logs, bool final) {
  const Trainer& t = trainer();
  const std::int64_t total = t.steps_per_epoch();
  const std::int64_t done = final ? total : t.steps_done_in_epoch();
  const double elapsed = std::chrono::duration<double>(Clock::now() - epoch_start_).count();
  const double samples = static_cast<double>(t.samples_in_epoch() - start_samples_);
  const double rate = elapsed > 0 ? samples / elapsed : 0;
  char buffer[128];
  line_.clear();
  std::snprintf(buffer, sizeof buffer, "epoch %lld/%lld", static_cast<long long>(epoch_ + 1),
                static_cast<long long>(t.epochs()));
  line_ += buffer;
  if (mode_ == Verbosity::Bar) {
    const int filled = total > 0 ? static_cast<int>(kBarWidth * done / total) : kBarWidth;
    std::string bar(kBarWidth, ' ');
    std::fill(bar.begin(), bar.begin() + filled, '=');
    if (filled < kBarWidth && filled > 0) bar[static_cast<std::size_t>(filled)] = '>';
    std::snprintf(buffer, sizeof buffer, "  %lld/%lld [%s]", static_cast<long long>(done),
                  static_cast<long long>(total), bar.c_str());
    line_ += buffer;
    for (const auto& [key, value] : logs)
      if (key != "lr") line_ += "  " + key + " " + format_metric(value);
    std::snprintf(buffer, sizeof buffer, "  %.0f samples/s", rate);
    line_ += buffer;
    const std::int64_t counted = done - start_step_;
    if (final) {
      line_ += "  " + format_seconds(elapsed);
    } else if (counted > 0) {
      const double eta = elapsed / static_cast<double>(counted) * static_cast<double>(total - done);
      line_ += "  ETA " + format_seconds(eta);
    }
    // '\r' and clear-to-end-of-line: the new line may be shorter than the one it replaces.
    std::fprintf(out_, "\r%s\033[K", line_.c_str());
    if (final) std::fputc('\n', out_);
    bar_open_ = !final;
  } else {
    std::snprintf(buffer, sizeof buffer, " - %lld steps - %s - %.0f samples/s", static_cast<long long>(total),
                  format_seconds(elapsed).c_str(), rate);
    line_ += buffer;
    for (const auto& [key, value] : logs) line_ += " - " + key + " " + format_metric(value);
    line_ += '\n';
    std::fputs(line_.c_str(), out_);
  }
  std::fflush(out_);
}

void ProgressBar::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  epoch_ = epoch;
  draw(logs, true);
  counting_ = false;
}

void ProgressBar::on_train_end(const Logs&) {
  const Trainer& t = trainer();
  if (bar_open_) std::fputc('\n', out_);
  bar_open_ = false;
  // A stop is worth a line of its own; max_steps is the requested end, not a stop.
  if (t.stop_requested() && !t.stop_reason().empty()) std::fprintf(out_, "stopped: %s\n", t.stop_reason().c_str());
  std::fflush(out_);
}

}  // namespace ouro
