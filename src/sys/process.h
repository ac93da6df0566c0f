// Process: a child process started with posix_spawn, its output appended to a log file.
//
// Ownership: the Process object owns the child. Destroying it kills (SIGKILL) and reaps a child
// that is still running, so no child outlives its owner by accident.
// Thread safety: none; one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cohost::sys {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the executable path
  std::string log_path;           // stdout and stderr are appended here; empty: /dev/null
  // "NAME=value" entries set in the child's environment on top of the parent's (an entry replaces
  // the parent's variable of the same name).
  std::vector<std::string> env;
  // When set, stdout is written here instead (created or truncated) and only stderr goes to
  // log_path: for a child whose output is its result.
  std::string stdout_path = {};
};

// The parent's environment `base` (a NULL-terminated array, like `environ`) with `overrides`
// ("NAME=value") applied: same-name variables replaced, new ones appended. Pure.
std::vector<std::string> MergeEnvironment(char* const* base, const std::vector<std::string>& overrides);

class Process {
 public:
  // Errors: kInvalidArgument for an empty argv, kInternal when the spawn fails.
  static StatusOr<Process> Spawn(const SpawnOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  pid_t pid() const { return pid_; }

  // The exit status if the child has ended (reaping it), else nullopt. Never blocks.
  // The status is the exit code, or 128 + signal number when killed by a signal.
  std::optional<int> TryWait();
  // Waits up to `timeout` for the child to end; nullopt if it is still running then.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);
  // Sends a signal (ignored when the child has ended).
  void Signal(int sig);

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace cohost::sys
