// RunnerLaunch: everything the agent decides about one runner process, typed, and the one place
// that turns it into a `cohost runner` command line.
//
// Thread safety: values and a pure function; call from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace cohost::agent {

struct RunnerLaunch {
  // The `cohost` executable (absolute path; the agent usually passes its own).
  std::string cohost_binary;
  // The GGUF file the copy serves.
  std::string model_path;
  // The Unix socket the runner listens on; the agent talks to it only through this.
  std::string socket_path;
  // The model id clients send; empty: the runner's default (file name without .gguf).
  std::string alias;
  // Tokens of KV cache per slot.
  int context = 2048;
  // Slots: sequences decoded together.
  int parallel = 4;
  // Compute threads; 0: all cores.
  int threads = 0;
  // Layers offloaded to accelerators; -1: all.
  int gpu_layers = -1;
  // The runner's stdout and stderr are appended here; empty: discarded.
  std::string log_path;
};

// The argv (argv[0] is `cohost_binary`) for `cohost runner` with `launch`.
// Errors: kInvalidArgument naming the field when the binary, model or socket path is empty, or
// context, parallel or threads is out of range (context, parallel >= 1; threads >= 0;
// gpu_layers >= -1).
StatusOr<std::vector<std::string>> BuildRunnerArgv(const RunnerLaunch& launch);

}  // namespace cohost::agent
