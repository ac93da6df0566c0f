// RunnerLaunch: everything the agent decides about one runner process, typed, and the one place
// that turns it into a `cohost runner` command line.
//
// Thread safety: values and a pure function; call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cohost::agent {

// A copy's NVIDIA MPS client limits (agent/mps.h), for a copy on CUDA devices of a node where an
// MPS control daemon enforces them.
struct MpsLimits {
  // CUDA_MPS_ACTIVE_THREAD_PERCENTAGE: the share of each device's SMs the copy's kernels may use,
  // 1..100 (its accelerator share × 100, rounded up).
  int active_thread_percentage = 100;
  // CUDA_MPS_PINNED_DEVICE_MEM_LIMIT: the device memory the copy may allocate on each of its
  // devices, MiB (its reservation there plus its CUDA context, agent/mps.h
  // MpsContextHeadroomMib), in the order of RunnerLaunch::cuda_devices: the runner sees those
  // devices as 0, 1, ... and the limit names them so.
  std::vector<int64_t> device_memory_mib;
};

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
  // --load-mode of the runner: auto, mmap, read or stream (validated by the runner).
  std::string load_mode = "auto";
  // The copy's memory reservation, MiB; the runner fits itself within it or exits. 0: no limit.
  int64_t memory_limit_mib = 0;
  // CUDA devices (indices as the CUDA runtime counts them) the runner may see. nullopt: whatever
  // the agent sees; empty: none (a copy on virtual devices or the host must not take GPU memory).
  std::optional<std::vector<int>> cuda_devices;
  // MPS limits; nullopt: none (no MPS daemon enforces shares, or the copy is not on CUDA devices).
  // Requires a non-empty `cuda_devices` of the same length as device_memory_mib.
  std::optional<MpsLimits> mps;
};

// The argv (argv[0] is `cohost_binary`) for `cohost runner` with `launch`.
// Errors: kInvalidArgument naming the field when the binary, model or socket path is empty, or
// context, parallel or threads is out of range (context, parallel >= 1; threads >= 0;
// gpu_layers >= -1; memory_limit_mib >= 0), or `mps` is set without CUDA devices, with a
// percentage outside 1..100, a limit per device that does not match them, or a limit below 1 MiB.
StatusOr<std::vector<std::string>> BuildRunnerArgv(const RunnerLaunch& launch);

// Environment entries ("NAME=value") the runner gets on top of the agent's: CUDA_VISIBLE_DEVICES
// when `cuda_devices` is set, so each copy sees exactly the devices it was placed on, with
// CUDA_DEVICE_ORDER=PCI_BUS_ID so that those indices are NVML's (agent/nvml.h); with `mps`,
// CUDA_MPS_ACTIVE_THREAD_PERCENTAGE ("25") and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT ("0=1536M,1=1536M").
// The only place these variables are made.
std::vector<std::string> RunnerEnvironment(const RunnerLaunch& launch);

}  // namespace cohost::agent
