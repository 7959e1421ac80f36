// RunDirectory: checkpoint names, the latest pointer, pruning to the newest few, errors for a
// pointer that names nothing, the metrics log cut back for a resume, stale temporaries removed.
#include "ouro/train/run_directory.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "train_helpers.h"

namespace ouro {
namespace {

void touch(const std::string& path) { std::ofstream(path) << "x"; }

TEST(RunDirectory, CommitsLatestAndKeepsTheNewest) {
  testing::TempDir tmp;
  const RunDirectory run(tmp.file("run/"));  // created, trailing slash dropped
  EXPECT_EQ(run.path(), tmp.file("run"));
  EXPECT_TRUE(std::filesystem::is_directory(run.checkpoints_dir()));
  EXPECT_FALSE(run.latest_checkpoint().has_value());
  EXPECT_EQ(run.checkpoint_path(42), tmp.file("run/checkpoints/step-00000042.safetensors"));
  for (std::int64_t step : {5, 10, 15, 20}) {
    touch(run.checkpoint_path(step));
    run.commit_checkpoint(run.checkpoint_path(step), 2);
  }
  touch(run.checkpoints_dir() + "/notes.txt");  // other files are left alone
  EXPECT_EQ(run.checkpoints(), (std::vector<std::string>{run.checkpoint_path(15), run.checkpoint_path(20)}));
  EXPECT_EQ(run.latest_checkpoint(), run.checkpoint_path(20));
  // A resumed run that commits an older step than one left behind never prunes its own.
  touch(run.checkpoint_path(16));
  run.commit_checkpoint(run.checkpoint_path(16), 1);
  EXPECT_EQ(run.checkpoints(), (std::vector<std::string>{run.checkpoint_path(16)}));
  EXPECT_TRUE(std::filesystem::exists(run.checkpoints_dir() + "/notes.txt"));
}

TEST(RunDirectory, BadPointerAndPathErrors) {
  testing::TempDir tmp;
  const RunDirectory run(tmp.file("run"));
  std::ofstream(run.checkpoints_dir() + "/latest") << "step-00000007.safetensors\n";
  EXPECT_THROW(
      {
        try {
          (void)run.latest_checkpoint();
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("step-00000007.safetensors', which is missing"), std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
  std::ofstream(run.checkpoints_dir() + "/latest") << "garbage\n";
  EXPECT_THROW((void)run.latest_checkpoint(), Error);
  touch(tmp.file("file"));
  EXPECT_THROW(RunDirectory(tmp.file("file")), Error);
  EXPECT_THROW(run.commit_checkpoint(tmp.file("other.bin"), 1), Error);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RunDirectory, RewindMetricsKeepsWhatTheCheckpointCovers) {
  testing::TempDir tmp;
  const RunDirectory run(tmp.file("run"));
  // Two epochs of 3 steps, a validation record, then a line torn by a crash mid-write.
  const std::string kept =
      "{\"kind\":\"step\",\"epoch\":0,\"step\":1,\"loss\":2}\n"
      "{\"kind\":\"step\",\"epoch\":0,\"step\":2,\"loss\":1.5}\n"
      "{\"kind\":\"validation\",\"epoch\":0,\"step\":2,\"val_loss\":1.7}\n"
      "{\"kind\":\"step\",\"epoch\":0,\"step\":3,\"loss\":1.25}\n";
  const std::string epoch_end = "{\"kind\":\"epoch\",\"epoch\":0,\"step\":3,\"loss\":1.6}\n";
  const std::string torn = "{\"kind\":\"st";
  const std::string after = "{\"kind\":\"step\",\"epoch\":1,\"step\":4,\"loss\":1}\n" + torn;
  auto write = [&] { std::ofstream(run.metrics_path(), std::ios::binary) << kept << epoch_end << after; };

  // A checkpoint after step 3 taken before the epoch end ({0, 3}) redoes the epoch end.
  write();
  EXPECT_EQ(run.rewind_metrics(TrainingProgress{0, 3, {0, 3}}), epoch_end.size() + after.size());
  EXPECT_EQ(read_all(run.metrics_path()), kept);
  // The epoch end's own checkpoint ({1, 0}) keeps it; only the later step and the torn line go.
  write();
  EXPECT_EQ(run.rewind_metrics(TrainingProgress{1, 3, {1, 0}}), after.size());
  EXPECT_EQ(read_all(run.metrics_path()), kept + epoch_end);
  EXPECT_EQ(run.rewind_metrics(TrainingProgress{1, 3, {1, 0}}), 0u);  // idempotent
  // A checkpoint past everything logged still drops a torn last line; a new run empties the log.
  write();
  EXPECT_EQ(run.rewind_metrics(TrainingProgress{1, 9, {1, 5}}), torn.size());
  const std::size_t whole_log = read_all(run.metrics_path()).size();  // read first: argument order is unspecified
  EXPECT_EQ(run.rewind_metrics(TrainingProgress{}), whole_log);
  EXPECT_EQ(read_all(run.metrics_path()), "");
  // No log yet: nothing to do.
  const RunDirectory fresh(tmp.file("fresh"));
  EXPECT_EQ(fresh.rewind_metrics(TrainingProgress{}), 0u);
}

TEST(RunDirectory, RemovesTemporariesOfProcessesThatAreGone) {
  testing::TempDir tmp;
  const RunDirectory run(tmp.file("run"));
  // A pid that surely ran and exited: a child reaped here.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child), alive = std::to_string(::getppid());
  const std::string stale1 = run.checkpoint_path(7) + ".tmp." + dead + ".0";
  const std::string stale2 = run.path() + "/config.toml.tmp." + dead + ".3";
  const std::string live = run.checkpoint_path(8) + ".tmp." + alive + ".0";
  const std::string other = run.checkpoints_dir() + "/notes.tmp.txt";
  for (const std::string& p : {stale1, stale2, live, other}) touch(p);
  EXPECT_EQ(run.remove_stale_temporaries(), 2);
  EXPECT_FALSE(std::filesystem::exists(stale1));
  EXPECT_FALSE(std::filesystem::exists(stale2));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace ouro
