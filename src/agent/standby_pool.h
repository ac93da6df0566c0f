// StandbyPool: runner processes started ahead of need, one per launch environment (the devices a
// runner may see, and any compute-share settings), each waiting as a standby (runner/standby.h)
// with its runtime and devices already up. Starting a copy then costs only its model: Take()
// hands a waiting standby the copy's command line, and the process becomes that runner.
//
// At most one standby per device set a runner may see (CUDA_VISIBLE_DEVICES; one for runners that
// see no GPU): Want() for an environment replaces a standby of the same devices in another
// environment (a different compute share), so a device never holds more than one standby's
// memory. Runners that see several GPUs get none. Take() replaces the one it hands out, so the
// next copy on those devices finds one too. A standby that died is dropped (and replaced at the
// next Want). A standby holds what one runner process holds before its model: on a GPU, a
// context (serve sets one per-process overhead aside on each device for it).
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
  // one is alive (one of another environment on the same devices is stopped first). No-op for an
  // environment that sees several GPUs. Errors: what spawning the process returns.
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
    std::vector<std::string> env;
  };
  // The devices `env` lets a runner see ("" for none set); nullopt when it sees several GPUs.
  static std::optional<std::string> DeviceKey(const std::vector<std::string>& env);

  const StandbyPoolOptions options_;
  std::map<std::string, Standby> standbys_;
  int serial_ = 0;
};

}  // namespace cohost::agent
