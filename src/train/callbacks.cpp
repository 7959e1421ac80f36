#include "ouro/train/callbacks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "ouro/core/error.h"
#include "ouro/optim/optimizer.h"
#include "ouro/train/trainer.h"

namespace ouro {
namespace {

bool maximize(MonitorMode mode, const std::string& monitor) {
  if (mode != MonitorMode::Auto) return mode == MonitorMode::Max;
  for (const char* up : {"acc", "precision", "recall", "f1", "r2"})
    if (monitor.find(up) != std::string::npos) return true;
  return false;
}

bool improves(double value, double best, bool maximize, double min_delta) {
  return maximize ? value - min_delta > best : value + min_delta < best;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Shortest text that reads back as the same double.
void append_number(std::string& out, double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void append_json_string(std::string& out, const std::string& text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

// ---- Callback ----

Trainer& Callback::trainer() const {
  OURO_CHECK(trainer_ != nullptr, "Callback: not attached to a trainer (only valid inside Trainer::fit)");
  return *trainer_;
}

void Callback::request_stop(const std::string& reason) { trainer().stop_training(reason); }

double monitored_value(const char* who, const std::string& monitor, const Logs& logs) {
  const auto it = logs.find(monitor);
  if (it != logs.end()) return it->second;
  std::string keys;
  for (const auto& [key, value] : logs) keys += (keys.empty() ? "" : ", ") + key;
  throw Error(std::string(who) + ": monitored value '" + monitor + "' is not in the logs; they have: " + keys);
}

// ---- EarlyStopping ----

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  OURO_CHECK(options_.patience >= 0, "EarlyStopping: patience must be >= 0, got ", options_.patience);
  OURO_CHECK(options_.min_delta >= 0, "EarlyStopping: min_delta must be >= 0, got ", options_.min_delta);
  maximize_ = maximize(options_.mode, options_.monitor);
}

void EarlyStopping::on_train_begin() {
  best_ = maximize_ ? -INFINITY : INFINITY;
  best_epoch_ = stopped_epoch_ = -1;
  wait_ = 0;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  const double value = monitored_value("EarlyStopping", options_.monitor, logs);
  if (best_epoch_ < 0 ? std::isfinite(value) : improves(value, best_, maximize_, options_.min_delta)) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    if (options_.restore_best_weights) {
      best_weights_.clear();
      for (const auto& [name, tensor] : trainer().model().state_dict()) best_weights_[name] = tensor.copy();
    }
    return;
  }
  if (++wait_ >= std::max<std::int64_t>(options_.patience, 1)) {
    stopped_epoch_ = epoch;
    request_stop("EarlyStopping: " + options_.monitor + " has not improved for " + std::to_string(wait_) +
                 " epochs (best " + std::to_string(best_) + " at epoch " + std::to_string(best_epoch_ + 1) + ")");
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (options_.restore_best_weights && !best_weights_.empty()) trainer().model().load_state_dict(best_weights_);
}

// ---- ModelCheckpoint ----

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  OURO_CHECK(!options_.path.empty(), "ModelCheckpoint: path is empty");
  OURO_CHECK(options_.every_n_epochs >= 0 && options_.every_n_steps >= 0,
             "ModelCheckpoint: every_n_epochs and every_n_steps must be >= 0, got ", options_.every_n_epochs, " and ",
             options_.every_n_steps);
  struct stat info {};
  if (::stat(options_.path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    // Appended piecewise: GCC 12 flags `"/" + std::string(...)` here with a false -Wrestrict.
    if (options_.path.back() != '/') options_.path += '/';
    options_.path += "checkpoint.safetensors";
  }
  maximize_ = maximize(options_.mode, options_.monitor);
}

void ModelCheckpoint::on_train_begin() { has_best_ = false; }

void ModelCheckpoint::on_batch_end(std::int64_t step, const Logs& logs) {
  if (options_.every_n_steps > 0 && (step + 1) % options_.every_n_steps == 0)
    maybe_save(logs, trainer().epoch(), step + 1);
}

void ModelCheckpoint::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  if (options_.every_n_epochs > 0 && (epoch + 1) % options_.every_n_epochs == 0)
    maybe_save(logs, epoch, trainer().global_step());
}

void ModelCheckpoint::maybe_save(const Logs& logs, std::int64_t epoch, std::int64_t step) {
  if (options_.save_best_only) {
    const double value = monitored_value("ModelCheckpoint", options_.monitor, logs);
    if (!std::isfinite(value)) return;
    if (has_best_ && !improves(value, best_, maximize_, 0)) return;
    has_best_ = true;
    best_ = value;
  }
  std::string path = replace_all(options_.path, "{epoch}", std::to_string(epoch + 1));
  path = replace_all(path, "{step}", std::to_string(step));
  trainer().save_checkpoint(path);
  saved_.push_back(path);
}

// ---- LearningRateScheduler ----

LearningRateScheduler::LearningRateScheduler(std::shared_ptr<LrScheduler> scheduler, ScheduleUnit unit,
                                             std::string monitor)
    : scheduler_(std::move(scheduler)), unit_(unit), monitor_(std::move(monitor)) {
  OURO_CHECK(scheduler_ != nullptr, "LearningRateScheduler: the scheduler is null");
}

LearningRateScheduler::LearningRateScheduler(Factory factory, ScheduleUnit unit, std::string monitor)
    : factory_(std::move(factory)), unit_(unit), monitor_(std::move(monitor)) {
  OURO_CHECK(factory_ != nullptr, "LearningRateScheduler: the factory is empty");
}

LearningRateScheduler::LearningRateScheduler(EpochFunction function)
    : function_(std::move(function)), unit_(ScheduleUnit::Epoch) {
  OURO_CHECK(function_ != nullptr, "LearningRateScheduler: the function is empty");
}

void LearningRateScheduler::on_train_begin() {
  if (factory_ && !scheduler_) {
    scheduler_ = factory_(trainer().optimizer());
    OURO_CHECK(scheduler_ != nullptr, "LearningRateScheduler: the factory returned null");
  }
  if (scheduler_)
    OURO_CHECK(&scheduler_->optimizer() == &trainer().optimizer(),
               "LearningRateScheduler: the scheduler drives another optimizer than the trainer's");
}

void LearningRateScheduler::on_epoch_begin(std::int64_t epoch) {
  if (!function_) return;
  Optimizer& optimizer = trainer().optimizer();
  const double lr = function_(epoch, optimizer.lr());
  OURO_CHECK(std::isfinite(lr) && lr >= 0, "LearningRateScheduler: the function gave lr ", lr, " for epoch ", epoch);
  optimizer.set_lr(lr);
}

void LearningRateScheduler::advance(const Logs& logs, bool epoch_end) {
  if (auto* plateau = dynamic_cast<ReduceLROnPlateau*>(scheduler_.get())) {
    plateau->step(monitored_value("LearningRateScheduler", epoch_end ? monitor_ : "loss", logs));
  } else if (auto* schedule = dynamic_cast<Schedule*>(scheduler_.get())) {
    schedule->step();
  } else {
    throw Error(std::string("LearningRateScheduler: don't know how to step a ") + scheduler_->name());
  }
}

void LearningRateScheduler::on_batch_end(std::int64_t, const Logs& logs) {
  if (scheduler_ && unit_ == ScheduleUnit::Step) advance(logs, false);
}

void LearningRateScheduler::on_epoch_end(std::int64_t, const Logs& logs) {
  if (scheduler_ && unit_ == ScheduleUnit::Epoch) advance(logs, true);
}

// ---- MetricsLogger ----

MetricsLogger::MetricsLogger(MetricsLoggerOptions options) : options_(std::move(options)) {
  OURO_CHECK(!options_.path.empty(), "MetricsLogger: path is empty");
  OURO_CHECK(options_.every_n_steps >= 0, "MetricsLogger: every_n_steps must be >= 0, got ", options_.every_n_steps);
  const std::string& p = options_.path;
  csv_ = options_.format == LogFormat::Csv ||
         (options_.format == LogFormat::Auto && p.size() >= 4 && p.compare(p.size() - 4, 4, ".csv") == 0);
}

MetricsLogger::~MetricsLogger() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

void MetricsLogger::on_train_begin() {
  record_time_ = -1;  // the clock starts at the first step, after any resume
  if (fd_ >= 0) return;
  if (csv_) {
    // An existing file's header fixes the columns, so a resumed run appends matching rows.
    std::ifstream existing(options_.path);
    std::string header;
    if (existing && std::getline(existing, header) && !header.empty()) {
      columns_.clear();
      std::size_t start = 0;
      for (std::size_t comma; (comma = header.find(',', start)) != std::string::npos; start = comma + 1)
        columns_.push_back(header.substr(start, comma - start));
      columns_.push_back(header.substr(start));
    }
  }
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  OURO_CHECK(fd_ >= 0, "MetricsLogger: cannot open '", options_.path, "': ", std::strerror(errno));
}

void MetricsLogger::on_train_end(const Logs&) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void MetricsLogger::on_epoch_begin(std::int64_t) { epoch_samples_seen_ = 0; }

void MetricsLogger::on_batch_begin(std::int64_t) {
  if (record_time_ >= 0) return;
  samples_since_record_ = 0;
  epoch_samples_seen_ = static_cast<double>(trainer().samples_in_epoch());
  record_time_ = steady_seconds();
}

void MetricsLogger::on_batch_end(std::int64_t step, const Logs& logs) {
  if (options_.throughput) {
    // samples_in_epoch() counts from the epoch's start; a resumed run starts mid-epoch.
    const auto seen = static_cast<double>(trainer().samples_in_epoch());
    samples_since_record_ += seen - epoch_samples_seen_;
    epoch_samples_seen_ = seen;
  }
  if (options_.every_n_steps > 0 && (step + 1) % options_.every_n_steps == 0) {
    if (!options_.throughput) {
      write_record("step", trainer().epoch(), step + 1, logs);
      return;
    }
    const double now = steady_seconds();
    const double rate = samples_since_record_ / std::max(now - record_time_, 1e-9);
    with_throughput_ = logs;
    with_throughput_["samples_per_s"] = rate;
    if (options_.tokens_per_sample > 0)
      with_throughput_["tokens_per_s"] = rate * static_cast<double>(options_.tokens_per_sample);
    write_record("step", trainer().epoch(), step + 1, with_throughput_);
    samples_since_record_ = 0;
    record_time_ = now;
  }
}

void MetricsLogger::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  if (options_.epochs) write_record("epoch", epoch, trainer().global_step(), logs);
}

void MetricsLogger::write_record(const char* kind, std::int64_t epoch, std::int64_t step, const Logs& logs) {
  OURO_CHECK(fd_ >= 0, "MetricsLogger: '", options_.path, "' is not open (only inside Trainer::fit)");
  std::string& line = line_;
  line.clear();
  if (csv_) {
    if (columns_.empty()) {
      columns_ = {"kind", "epoch", "step"};
      for (const auto& [key, value] : logs) columns_.push_back(key);
      for (std::size_t i = 0; i < columns_.size(); ++i) line += (i ? "," : "") + columns_[i];
      line += '\n';
    }
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (i) line += ',';
      const std::string& column = columns_[i];
      if (column == "kind") line += kind;
      else if (column == "epoch") line += std::to_string(epoch);
      else if (column == "step") line += std::to_string(step);
      else if (const auto it = logs.find(column); it != logs.end()) append_number(line, it->second);
    }
  } else {
    line += "{\"kind\":\"";
    line += kind;
    line += "\",\"epoch\":" + std::to_string(epoch) + ",\"step\":" + std::to_string(step);
    for (const auto& [key, value] : logs) {
      line += ',';
      append_json_string(line, key);
      line += ':';
      if (std::isfinite(value)) append_number(line, value);
      else line += "null";
    }
    line += '}';
  }
  line += '\n';
  // One write of the whole record: with O_APPEND it lands as a unit after whatever is there.
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    OURO_CHECK(n > 0, "MetricsLogger: writing '", options_.path, "' failed: ", std::strerror(errno));
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

// ---- TerminateOnNaN ----

void TerminateOnNaN::on_train_begin() {
  parameters_ = trainer().model().named_parameters(/*trainable_only=*/true);
  message_.clear();
  triggered_ = 0;
}

void TerminateOnNaN::on_before_optimizer_step(std::int64_t step, const Logs& logs) {
  const auto it = logs.find("loss");
  const double loss = it == logs.end() ? 0.0 : it->second;
  std::string bad_parameter;
  if (check_gradients_ || !std::isfinite(loss)) {
    for (const auto& [name, parameter] : parameters_) {
      const Tensor grad = parameter.grad();
      if (!grad.defined()) continue;
      const bool finite = dispatch_floating(grad.dtype(), "TerminateOnNaN", [&](auto zero) {
        using T = decltype(zero);
        const Tensor g = grad.is_contiguous() ? grad : grad.copy();
        const T* data = g.template data<T>();
        // Summing flags keeps the loop branch-free (and vectorisable); any NaN/Inf makes it stop.
        T acc = 0;
        for (std::int64_t i = 0; i < g.numel(); ++i) acc += data[i] - data[i];
        return acc == 0;
      });
      if (!finite) {
        bad_parameter = name;
        break;
      }
    }
  }
  if (std::isfinite(loss) && bad_parameter.empty()) return;
  ++triggered_;
  std::string message = "TerminateOnNaN: ";
  message += std::isfinite(loss) ? "a non-finite gradient" : "loss is " + std::to_string(loss);
  message += " at step " + std::to_string(step) + " (epoch " + std::to_string(trainer().epoch() + 1) + ")";
  if (!bad_parameter.empty()) message += "; first parameter with a non-finite gradient: " + bad_parameter;
  if (action_ == NanAction::Skip) {
    trainer().skip_step();
    message += "; the step's update was skipped (" + std::to_string(trainer().skipped_steps()) +
               " skipped in this run)";
    message_ = message;
    std::fprintf(stderr, "warning: %s\n", message.c_str());
    return;
  }
  message += "; training stopped before this step's update";
  message_ = message;
  if (action_ == NanAction::Throw) throw Error(message);
  request_stop(message);
}

}  // namespace ouro
