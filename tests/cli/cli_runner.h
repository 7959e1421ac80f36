// Runs the built `ouro` binary (OURO_CLI_PATH, set by CMake) in a scratch directory and
// captures its exit code, stdout and stderr; and the checks every CLI test makes of what it
// printed.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ouro::testing {

struct CliResult {
  int code = -1;
  std::string out, err;
};

class CliSandbox {
 public:
  CliSandbox() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ouro_cli_XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~CliSandbox() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  CliSandbox(const CliSandbox&) = delete;
  CliSandbox& operator=(const CliSandbox&) = delete;

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  std::string read(const std::string& name) const {
    std::ifstream in(path(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // `ouro <arguments>` run by the shell inside the sandbox; arguments are shell words.
  CliResult run(const std::string& arguments) const {
    const std::string command = "cd '" + dir_ + "' && '" + std::string(OURO_CLI_PATH) + "' " + arguments +
                                " >'" + path(".stdout") + "' 2>'" + path(".stderr") + "'";
    const int status = std::system(command.c_str());
    CliResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read(".stdout");
    r.err = read(".stderr");
    return r;
  }

 private:
  std::string dir_;
};

// The fine-tuning tests' two small corpora in fortune format: base.txt (a pangram) to
// pretrain on and topic.txt (a nursery rhyme) to adapt to, 40 entries each.
inline void write_base_and_topic_corpora(const CliSandbox& box) {
  std::string base, topic;
  for (int i = 0; i < 40; ++i) base += "The quick brown fox jumps over the lazy dog " + std::to_string(i % 7) + ".\n%\n";
  for (int i = 0; i < 40; ++i) topic += "Row, row, row your boat, gently down the stream " + std::to_string(i % 5) + ".\n%\n";
  box.write("base.txt", base);
  box.write("topic.txt", topic);
}

// Expects `part` somewhere in `text`, and shows the whole text when it is missing.
inline void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in:\n" << text;
}

// The number printed after "key: " at the start of a line of `out` (the eval and finetune
// reports' format); NaN, and a test failure, when no line starts so.
inline double printed(const std::string& out, const std::string& key) {
  const std::string label = key + ": ";
  std::size_t at = out.rfind(label, 0) == 0 ? 0 : out.find("\n" + label);
  if (at != 0 && at != std::string::npos) ++at;
  EXPECT_NE(at, std::string::npos) << "no line starts with '" << label << "' in:\n" << out;
  return at == std::string::npos ? NAN : std::strtod(out.c_str() + at + label.size(), nullptr);
}

// Merges lora/adapter.safetensors into the run `base` as merged.safetensors (ouro merge must
// print `merge_message`), then checks that the adapter applied unmerged (--adapter) and the
// merged checkpoint give the same greedy text of `max_tokens` tokens, text the adapter changed,
// and the same evaluation on topic.txt: `metric` and the loss, printed with 6 significant
// digits, so equal up to float32 rounding. Returns the unmerged evaluation's output.
inline std::string expect_adapter_equals_merged(const CliSandbox& box, const std::string& merge_message,
                                                int max_tokens, const std::string& metric) {
  const CliResult merged = box.run("merge base lora/adapter.safetensors --out merged.safetensors");
  EXPECT_EQ(merged.code, 0) << merged.err;
  expect_contains(merged.out, merge_message);
  const std::string gen = "--prompt 'Row, ' --max-tokens " + std::to_string(max_tokens) + " --temperature 0";
  const CliResult with_adapter = box.run("generate base --adapter lora/adapter.safetensors " + gen);
  const CliResult from_merged = box.run("generate merged.safetensors " + gen);
  EXPECT_EQ(with_adapter.code, 0) << with_adapter.err;
  EXPECT_EQ(from_merged.code, 0) << from_merged.err;
  EXPECT_EQ(with_adapter.out, from_merged.out);
  EXPECT_NE(with_adapter.out, box.run("generate base " + gen).out);  // the adapter changed something
  const CliResult eval_adapter = box.run("eval base --adapter lora/adapter.safetensors --data topic.txt");
  const CliResult eval_merged = box.run("eval merged.safetensors --data topic.txt");
  EXPECT_EQ(eval_adapter.code, 0) << eval_adapter.err;
  EXPECT_EQ(eval_merged.code, 0) << eval_merged.err;
  EXPECT_NEAR(printed(eval_adapter.out, metric), printed(eval_merged.out, metric), 1e-4);
  EXPECT_NEAR(printed(eval_adapter.out, "loss"), printed(eval_merged.out, "loss"), 1e-4);
  return eval_adapter.out;
}

}  // namespace ouro::testing
