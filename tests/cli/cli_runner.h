// Runs the built `ouro` binary (OURO_CLI_PATH, set by CMake) in a scratch directory and
// captures its exit code, stdout and stderr.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace ouro::testing
