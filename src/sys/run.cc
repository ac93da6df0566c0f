#include "sys/run.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/process.h"

namespace cohost::sys {
namespace {

// A temporary file removed when this goes out of scope.
class TempFile {
 public:
  TempFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cohost-run-XXXXXX").string();
    int fd = mkstemp(pattern.data());
    if (fd >= 0) {
      close(fd);
      path_ = pattern;
    }
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

}  // namespace

StatusOr<RunResult> RunCaptured(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env,
                                std::chrono::milliseconds timeout) {
  TempFile out, err;
  if (out.path().empty() || err.path().empty()) return Internal("cannot create a temporary file");
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.stdout_path = out.path();
  o.log_path = err.path();
  ASSIGN_OR_RETURN(Process p, Process::Spawn(o));
  std::optional<int> status = p.WaitFor(timeout);
  if (!status) {
    p.Signal(SIGKILL);
    p.WaitFor(std::chrono::seconds(10));
    return Status(StatusCode::kDeadlineExceeded,
                  (argv.empty() ? std::string("child") : argv[0]) + " did not finish within " +
                      std::to_string(timeout.count()) + " ms; killed it");
  }
  return RunResult{*status, out.Read(), err.Read()};
}

}  // namespace cohost::sys
