// RunDirectory: checkpoint names, the latest pointer, pruning to the newest few, and errors
// for a pointer that names nothing.
#include "ouro/train/run_directory.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace ouro
