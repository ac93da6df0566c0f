// RunnerCopy: one real `cohost runner` child, launched exactly as the node agent launches a copy
// (agent::BuildRunnerArgv, on a Unix socket), for the right-sizer's measured sweep.
//
// Ownership: owns the child; the destructor stops it (SIGTERM, then SIGKILL after 10 s).
// Thread safety: none; one owner thread. address() may be read from any thread once started.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/runner_command.h"
#include "core/status.h"
#include "net/http_client.h"
#include "sys/process.h"

namespace cohost::profile {

class RunnerCopy {
 public:
  // Starts the runner (launch.socket_path and log_path are chosen here, in a fresh temporary
  // directory) and waits, polling with a deadline, until GET /healthz answers 200.
  // Errors: kInvalidArgument from BuildRunnerArgv; kFailedPrecondition "the model did not load"
  // with the runner's exit status and the last lines of its log when it exits first;
  // kDeadlineExceeded when it is not healthy within `start_timeout`.
  static StatusOr<std::unique_ptr<RunnerCopy>> Start(agent::RunnerLaunch launch,
                                                     std::chrono::milliseconds start_timeout);
  ~RunnerCopy();

  const net::Address& address() const { return address_; }
  const std::string& log_path() const { return log_path_; }

 private:
  RunnerCopy(sys::Process p, std::string dir) : process_(std::move(p)), dir_(std::move(dir)) {}
  sys::Process process_;
  std::string dir_;
  std::string log_path_;
  net::Address address_;
};

// The last `lines` lines of a file (for error messages).
std::string TailOfFile(const std::string& path, int lines);

}  // namespace cohost::profile
