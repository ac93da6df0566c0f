// RunCaptured: runs a short-lived child to completion and returns what it printed.
//
// For helpers whose output is their result (`cohost devices --output json`, `cohost
// memory-need`): stdout and stderr are captured apart, through temporary files (no pipes to
// drain while waiting). Blocks the calling thread until the child ends or the timeout passes.
// Thread safety: any thread; each call has its own child and files.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace cohost::sys {

struct RunResult {
  int exit_status = 0;  // the exit code, or 128 + signal number
  std::string out;      // what it wrote on stdout
  std::string err;      // what it wrote on stderr
};

// Runs `argv` (argv[0] an executable path) with `env` ("NAME=value") on top of this process's
// environment. A non-zero exit is not an error of this call: see exit_status.
// Errors: as Process::Spawn; kInternal when no temporary file can be made; kDeadlineExceeded
// when the child has not ended within `timeout` (it is killed and reaped first).
StatusOr<RunResult> RunCaptured(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env,
                                std::chrono::milliseconds timeout);

}  // namespace cohost::sys
