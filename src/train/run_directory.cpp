// RunDirectory and RunCheckpoint: file naming, the latest pointer and pruning.
#include "ouro/train/run_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ouro/core/error.h"
#include "ouro/io/atomic_file.h"
#include "ouro/train/trainer.h"

namespace ouro {
namespace fs = std::filesystem;

namespace {
constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".safetensors";

// The step of "step-<digits>.safetensors", or -1 for any other name.
std::int64_t step_of(const std::string& name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

// The pid in an atomic write's temporary name "<target>.tmp.<pid>.<n>", or -1 for any other name.
long temporary_owner(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return -1;
  const std::size_t pid_dot = name.rfind('.', dot - 1);
  if (pid_dot == std::string::npos || pid_dot + 1 == dot || pid_dot < 4 || name.compare(pid_dot - 4, 4, ".tmp") != 0)
    return -1;
  const std::string pid = name.substr(pid_dot + 1, dot - pid_dot - 1), count = name.substr(dot + 1);
  if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9 ||
      count.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stol(pid);
}

// Whether a metrics record lies before the point a checkpoint at `progress` resumes from.
bool covered_by(const nlohmann::json& record, const TrainingProgress& progress) {
  // An epoch record is written when the epoch's last step is done, at that step's number; a
  // checkpoint of that same step taken before the epoch end (position {e, batches}) redoes it.
  if (record.at("kind").get<std::string>() == "epoch")
    return record.at("epoch").get<std::int64_t>() < progress.loader.epoch;
  // Step records and the others a run writes there (e.g. "validation") carry the global step.
  return record.at("step").get<std::int64_t>() <= progress.global_step;
}
}  // namespace

RunDirectory::RunDirectory(std::string path) : path_(std::move(path)) {
  OURO_CHECK(!path_.empty(), "RunDirectory: the path is empty");
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  std::error_code ec;
  fs::create_directories(checkpoints_dir(), ec);
  OURO_CHECK(!ec && fs::is_directory(checkpoints_dir()), "RunDirectory: cannot create '", checkpoints_dir(),
             "': ", ec ? ec.message() : std::string("a file of that name is in the way"));
}

std::string RunDirectory::checkpoint_path(std::int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%08lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return checkpoints_dir() + "/" + name;
}

std::vector<std::string> RunDirectory::checkpoints() const {
  std::vector<std::pair<std::int64_t, std::string>> found;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir())) {
    const std::int64_t step = step_of(entry.path().filename().string());
    if (step >= 0 && entry.is_regular_file()) found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [step, path] : found) out.push_back(std::move(path));
  return out;
}

std::optional<std::string> RunDirectory::latest_checkpoint() const {
  const std::string pointer = checkpoints_dir() + "/latest";
  std::ifstream in(pointer);
  if (!in) return std::nullopt;
  std::string name;
  std::getline(in, name);
  OURO_CHECK(step_of(name) >= 0, "RunDirectory: '", pointer, "' does not name a checkpoint: '", name, "'");
  const std::string path = checkpoints_dir() + "/" + name;
  OURO_CHECK(fs::is_regular_file(path), "RunDirectory: '", pointer, "' names '", name, "', which is missing");
  return path;
}

void RunDirectory::commit_checkpoint(const std::string& checkpoint, std::int64_t keep) const {
  OURO_CHECK(keep >= 1, "RunDirectory: keep must be >= 1, got ", keep);
  const std::string name = fs::path(checkpoint).filename().string();
  OURO_CHECK(step_of(name) >= 0, "RunDirectory: '", checkpoint, "' is not named step-<N>.safetensors");
  write_file_atomically(checkpoints_dir() + "/latest", name + "\n");
  const std::vector<std::string> all = checkpoints();
  // The one just committed is never pruned, even if an older run left higher steps behind.
  std::int64_t excess = static_cast<std::int64_t>(all.size()) - keep;
  for (const std::string& path : all) {
    if (excess <= 0) break;
    if (fs::path(path).filename() == name) continue;
    std::error_code ec;
    fs::remove(path, ec);
    --excess;
  }
}

void append_metrics_record(const std::string& metrics_path, const std::string& record_json, const std::string& who) {
  const std::string line = record_json + "\n";
  const int fd = ::open(metrics_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  OURO_CHECK(fd >= 0, who, ": cannot open '", metrics_path, "': ", std::strerror(errno));
  const ssize_t written = ::write(fd, line.data(), line.size());
  const int saved = errno;
  ::close(fd);
  OURO_CHECK(written == static_cast<ssize_t>(line.size()), who, ": writing '", metrics_path,
             "' failed: ", std::strerror(saved));
}

bool metrics_has_record(const std::string& metrics_path, const std::string& kind, std::int64_t step) {
  std::ifstream in(metrics_path);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.value("kind", "") == kind && record.value("step", std::int64_t{-1}) == step)
      return true;
  }
  return false;
}

std::uint64_t RunDirectory::rewind_metrics(const TrainingProgress& progress) const {
  const std::string path = metrics_path();
  // Anything but a file there (e.g. a directory) is MetricsLogger's to report when it opens it.
  if (!fs::is_regular_file(path)) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::uint64_t keep = 0;
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline after it: a torn last line
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("kind") || !record["kind"].is_string()) break;
    try {
      if (!covered_by(record, progress)) break;
    } catch (const nlohmann::json::exception&) {
      break;
    }
    keep += line.size() + 1;
  }
  in.close();
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  OURO_CHECK(!ec, "RunDirectory: cannot read the size of '", path, "': ", ec.message());
  if (size == keep) return 0;
  OURO_CHECK(::truncate(path.c_str(), static_cast<off_t>(keep)) == 0, "RunDirectory: cannot cut '", path,
             "' back to the ", keep, " bytes the checkpoint at step ", progress.global_step,
             " covers: ", std::strerror(errno));
  return size - keep;
}

std::int64_t RunDirectory::remove_stale_temporaries() const {
  std::int64_t removed = 0;
  for (const std::string& dir : {path_, checkpoints_dir()}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const long pid = temporary_owner(entry.path().filename().string());
      if (pid <= 0 || pid == static_cast<long>(::getpid()) || !entry.is_regular_file()) continue;
      // kill(pid, 0) fails with ESRCH only when no such process exists.
      if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
      std::error_code remove_error;
      if (fs::remove(entry.path(), remove_error)) ++removed;
    }
  }
  return removed;
}

RunCheckpoint::RunCheckpoint(RunDirectory directory, RunCheckpointOptions options)
    : directory_(std::move(directory)), options_(options) {
  OURO_CHECK(options_.every_n_steps >= 0, "RunCheckpoint: every_n_steps must be >= 0, got ", options_.every_n_steps);
  OURO_CHECK(options_.keep >= 1, "RunCheckpoint: keep must be >= 1, got ", options_.keep);
}

void RunCheckpoint::on_train_begin() { last_saved_step_ = -1; }

void RunCheckpoint::on_batch_end(std::int64_t step, const Logs&) {
  if (options_.every_n_steps > 0 && (step + 1) % options_.every_n_steps == 0) save();
}

void RunCheckpoint::on_epoch_end(std::int64_t, const Logs&) {
  if (options_.at_epoch_end) save();
}

void RunCheckpoint::on_train_end(const Logs&) {
  // Nothing changes between the last step's (or epoch end's) save and the end of training; a
  // run stopped inside a step cannot be saved so that it resumes exactly (see Trainer).
  if (options_.at_train_end && trainer().global_step() != last_saved_step_ && !trainer().stopped_inside_step()) save();
}

void RunCheckpoint::save() {
  const std::int64_t step = trainer().global_step();
  // An epoch end right after a step checkpoint is the same step but adds the epoch's
  // validation and history, so that one is written again over the same file.
  const std::string path = directory_.checkpoint_path(step);
  try {
    trainer().save_checkpoint(path);
    directory_.commit_checkpoint(path, options_.keep);
  } catch (const Error& e) {
    const auto previous = directory_.latest_checkpoint();
    throw Error(detail::concat("RunCheckpoint: the checkpoint of step ", step, " was not saved (",
                               previous ? "the latest is still " + *previous : std::string("there is none yet"),
                               "): ", e.what()));
  }
  if (step != last_saved_step_) saved_.push_back(path);
  last_saved_step_ = step;
}

}  // namespace ouro
