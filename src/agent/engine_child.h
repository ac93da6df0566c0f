// Engine work done in short-lived `cohost` children, so that `cohost serve` never initialises a
// GPU backend (issue 13).
//
// With a CUDA build, asking ggml for its devices or running the memory dry run creates a CUDA
// context in the calling process: about 500 MiB of device memory that serve would hold for its
// whole life, on every GPU, outside every reservation. Serve asks a child instead:
//   - `cohost devices --output json` lists the devices ggml sees (used where NVML is absent);
//   - `cohost memory-need ...` (an internal subcommand) prints the dry run's figures as JSON.
// The child's context dies with it. Children get CUDA_DEVICE_ORDER=PCI_BUS_ID so that their
// CUDA indices are NVML's and the runners'.
//
// Thread safety: free functions; each call starts its own child and blocks until it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/status.h"

namespace cohost::agent {

// The environment entries every engine child and runner gets on top of serve's: the PCI bus
// order, and CUDA_VISIBLE_DEVICES when `cuda_devices` is set (empty: no GPU at all).
std::vector<std::string> EngineChildEnvironment(
    const std::optional<std::vector<int>>& cuda_devices);

// What `cohost memory-need` is asked.
struct MemoryNeedQuery {
  std::string model_path;
  int context = 2048;   // tokens per slot
  int parallel = 4;     // slots
  int batch = 0;        // 0: the runner's default, raised to at least `parallel`
  int ubatch = 0;       // 0: the runner's default (capped at batch)
  int gpu_layers = -1;  // -1: all
  // Devices the child may see, as RunnerLaunch::cuda_devices. nullopt: whatever serve sees.
  std::optional<std::vector<int>> cuda_devices;
};

// The dry run's answer: llama.cpp's buffers for one copy.
struct MemoryNeed {
  int64_t total_bytes = 0;  // weights + KV cache + compute, every device and the host
  int64_t total_mib = 0;    // total_bytes in MiB, rounded up
  std::map<std::string, int64_t> by_device;  // ggml's device names ("CPU", "CUDA0") -> bytes
  int64_t n_params = 0;

  // Bytes on accelerators (every entry but "CPU").
  int64_t accelerator_bytes() const;
};

// The argv of `cohost memory-need` for `query`.
std::vector<std::string> MemoryNeedArgv(const std::string& cohost_binary,
                                        const MemoryNeedQuery& query);

// Parses memory-need's stdout. An `{"error": {"code", "message", "field"}}` object becomes that
// error. Errors: kInternal for output that is not one of the two shapes.
StatusOr<MemoryNeed> ParseMemoryNeedJson(const std::string& text);

// Runs the dry run in a child. Errors: the dry run's own (a missing or corrupt model: its code and
// message, e.g. kNotFound, kDataLoss); kDeadlineExceeded past `timeout`; kInternal when the child
// fails without saying why (its stderr in the message).
StatusOr<MemoryNeed> MeasureMemoryNeedInChild(
    const std::string& cohost_binary, const MemoryNeedQuery& query,
    std::chrono::milliseconds timeout = std::chrono::minutes(2));

// A device as `cohost devices --output json` reports it.
struct ChildDevice {
  Device device;
  int64_t free_mib = 0;
  std::string backend;  // ggml's name: "CUDA0", "CPU"
};

// Parses `cohost devices --output json`. Errors: kInternal for malformed output.
StatusOr<std::vector<ChildDevice>> ParseDevicesJson(const std::string& text);

// Runs `cohost devices --output json` in a child. Errors: as ParseDevicesJson; kInternal when the
// child exits non-zero; kDeadlineExceeded past `timeout`.
StatusOr<std::vector<ChildDevice>> DiscoverDevicesInChild(
    const std::string& cohost_binary, std::chrono::milliseconds timeout = std::chrono::minutes(1));

}  // namespace cohost::agent
