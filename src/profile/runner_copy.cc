#include "profile/runner_copy.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace cohost::profile {

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

StatusOr<std::unique_ptr<RunnerCopy>> RunnerCopy::Start(agent::RunnerLaunch launch,
                                                        std::chrono::milliseconds start_timeout) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cohost-profile-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Internal("cannot create a temporary directory");
  launch.socket_path = tmpl + "/runner.sock";
  launch.log_path = tmpl + "/runner.log";
  ASSIGN_OR_RETURN(std::vector<std::string> argv, agent::BuildRunnerArgv(launch));
  ASSIGN_OR_RETURN(sys::Process p, sys::Process::Spawn({argv, launch.log_path}));
  std::unique_ptr<RunnerCopy> copy(new RunnerCopy(std::move(p), tmpl));
  copy->log_path_ = launch.log_path;
  copy->address_.unix_socket = launch.socket_path;

  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    if (auto st = copy->process_.TryWait()) {
      return Status(StatusCode::kFailedPrecondition,
                    "the model did not load: the runner exited with status " + std::to_string(*st) +
                        "; its log ends:\n" + TailOfFile(copy->log_path_, 8));
    }
    std::error_code ec;
    if (std::filesystem::exists(launch.socket_path, ec)) {
      net::HttpClient client(copy->address_, std::chrono::seconds(2));
      auto r = client.Send("GET", "/healthz");
      if (r.ok() && r->status == 200) return copy;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kDeadlineExceeded,
                    "the runner was not healthy within " + std::to_string(start_timeout.count() / 1000) +
                        " s; its log ends:\n" + TailOfFile(copy->log_path_, 8));
    }
    std::this_thread::sleep_for(pause);  // polling interval, bounded by the deadline above
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

RunnerCopy::~RunnerCopy() {
  process_.Signal(SIGTERM);
  if (!process_.WaitFor(std::chrono::seconds(10))) process_.Signal(SIGKILL), process_.WaitFor(std::chrono::seconds(5));
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace cohost::profile
