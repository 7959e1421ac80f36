// RunDirectory and RunCheckpoint: file naming, the latest pointer and pruning.
#include "ouro/train/run_directory.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
  // Nothing changes between the last step's (or epoch end's) save and the end of training.
  if (options_.at_train_end && trainer().global_step() != last_saved_step_) save();
}

void RunCheckpoint::save() {
  const std::int64_t step = trainer().global_step();
  // An epoch end right after a step checkpoint is the same step but adds the epoch's
  // validation and history, so that one is written again over the same file.
  const std::string path = directory_.checkpoint_path(step);
  trainer().save_checkpoint(path);
  directory_.commit_checkpoint(path, options_.keep);
  if (step != last_saved_step_) saved_.push_back(path);
  last_saved_step_ = step;
}

}  // namespace ouro
