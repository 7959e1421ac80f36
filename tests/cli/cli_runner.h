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

}  // namespace ouro::testing
