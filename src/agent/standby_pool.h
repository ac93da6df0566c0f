// StandbyPool: runner processes started ahead of need, one per launch environment (the devices a
// runner may see, and any compute-share settings), each waiting as a standby (runner/standby.h)
// with its runtime and devices already up. Starting a copy then costs only its model: Take()
// hands a waiting standby the copy's command line, and the process becomes that runner.
//
// Want() keeps one standby per environment that has been asked for; Take() replaces the one it
// hands out, so the next copy on those devices finds one too. A standby that died is dropped
// (and replaced at the next Want). Standbys hold what one runner process holds before its model:
// on a GPU, a context (see the per-process device overhead in docs/serve.md).
//
// Thread safety: none; the node agent's owner thread makes every call. Destroying the pool kills
// the standbys it still holds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "sys/process.h"

namespace cohost::agent {

struct StandbyPoolOptions {
  std::string cohost_binary;  // the `cohost` executable
  std::string dir;            // sockets and logs of the standbys
  bool verbose = false;
};

class StandbyPool {
 public:
  explicit StandbyPool(StandbyPoolOptions options);
  ~StandbyPool();
  StandbyPool(const StandbyPool&) = delete;
  StandbyPool& operator=(const StandbyPool&) = delete;

  // Starts a standby for `env` ("NAME=value" entries on top of the agent's environment) unless
  // one is alive. Errors: what spawning the process returns.
  Status Want(const std::vector<std::string>& env);

  // If a live standby for `env` takes the start (`runner_args`: the runner's argv without the
  // program, starting with "runner"; its output goes to `log_path`), returns its process, now
  // that runner, and starts a replacement; nullopt otherwise (none, dead, or it refused), and the
  // caller spawns a runner as usual. Blocks up to 3 s for a standby that is alive but has not
  // bound its socket yet.
  std::optional<sys::Process> Take(const std::vector<std::string>& env,
                                   const std::vector<std::string>& runner_args,
                                   const std::string& log_path);

  // Standbys alive now.
  int size();

 private:
  struct Standby {
    sys::Process process;
    std::string socket;
  };
  static std::string Key(const std::vector<std::string>& env);

  const StandbyPoolOptions options_;
  std::map<std::string, Standby> standbys_;
  int serial_ = 0;
};

}  // namespace cohost::agent
