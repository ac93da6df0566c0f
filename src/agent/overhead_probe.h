// The per-process device overhead (issue 13): what one runner process holds on a device besides
// the llama.cpp buffers (weights, KV cache, compute) that its copy's dry run counts.
//
// On a CUDA GPU that is the process's CUDA context, cuBLAS workspace and ggml's pools: about
// 400-500 MiB on an H200, more than a small model's whole dry run. On virtual devices and the
// host, which compute on the CPU, it is the runner's own resident memory (code, heap, tokenizer,
// thread stacks touched).
//
// How it is measured: before any copy is placed, a probe runner (`cohost runner` on a tiny model:
// one slot of 64 tokens, micro-batch 32, weights read rather than mapped so they are resident) is
// started pinned to one device of each type, as a copy would be, answers one completion (so
// cuBLAS handles and pools exist), and its use on the device is read (ProcessMemoryReader; for a
// GPU whose NVML does not list the runner's pid, the rise of the device's used memory while it
// ran, when that is larger: ChooseProbeUse). The dry run's buffers for the same model and options
// on that device are subtracted.
// A probe before placement is the honest order: the first copies are placed with the overhead
// already counted, and the figure is not mixed with a real model's own pools.
//
// Device types: "cuda:<name>" per GPU model; "host" for virtual devices and the host together
// (their runners are the same kind of process).
//
// Thread safety: free functions; they block (each probe takes a few seconds) and start children.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "agent/overhead_cache.h"
#include "agent/process_memory.h"
#include "core/device.h"
#include "core/status.h"

namespace cohost::agent {

// Bumped when the probe changes in a way that changes its figure (so cached figures are stale).
inline constexpr int kOverheadProbeVersion = 1;

// "cuda:NVIDIA H200" for a GPU; "host" for virtual devices and the host.
std::string DeviceTypeOf(const Device& device);

struct ProbeOptions {
  std::string cohost_binary;   // the runner executable
  std::string model_path;      // the probe model: a tiny GGUF (serve writes one into its data dir)
  std::string runtime_dir;     // the probe runner's socket and log go here
  bool node_has_cuda = false;  // hide the GPUs from a probe on the host or a virtual device
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};  // for one probe, start to stop
  std::function<bool()> stop;  // polled while waiting; true gives up (kCancelled). May be empty.
};

// What the probe runner cost its device, and how that was read.
struct ProbeUse {
  std::optional<int64_t> bytes;  // nullopt: unknown
  std::string method;            // "nvml_process", "nvml_device_delta" or "proc_vmrss"
};
// For a GPU, the larger of NVML's figure for the process and the rise of the device's used memory
// while the probe ran (either may be unknown); for other devices, the process's figure. Pure.
ProbeUse ChooseProbeUse(DeviceKind kind, std::optional<int64_t> process,
                        std::optional<int64_t> device_before, std::optional<int64_t> device_after);

// Probes `device` once. Errors: the dry run's (as MeasureMemoryNeedInChild); kUnavailable when
// the runner cannot start, exits, does not answer within the timeout, or its use cannot be read;
// kCancelled when `stop` said so. The probe runner is always stopped before this returns.
StatusOr<OverheadMeasurement> ProbeProcessOverhead(const Device& device,
                                                   const ProcessMemoryReader& reader,
                                                   const ProbeOptions& options);

// Where a device's overhead figure came from.
struct DeviceOverhead {
  int64_t mib = 0;
  // "measured" (probed now), "cached" (probed before, same device type, driver and build),
  // "configured" (serve --process-overhead-mib), "unmeasured" (the probe failed: 0 counted).
  std::string source;
  std::string detail;  // for people: the probe's figures, or why it failed
};

struct OverheadOptions {
  ProbeOptions probe;
  std::string cache_path;                 // empty: no cache
  std::string driver_version;             // part of the cache key
  std::string cohost_build;               // part of the cache key
  std::optional<int64_t> configured_mib;  // set: this figure for every device, no probe
};

// The overhead of every device of `inventory` (by device id): one probe per device type not in
// the cache, run on the first device of that type; results are added to the cache file.
std::map<std::string, DeviceOverhead> ResolveProcessOverheads(const DeviceInventory& inventory,
                                                              const ProcessMemoryReader& reader,
                                                              const OverheadOptions& options);

}  // namespace cohost::agent
