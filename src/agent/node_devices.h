// This node's devices, found without creating a GPU context in the calling process (issue 13).
//
// With a build that computes on CUDA, GPUs come from NVML (agent/nvml.h: the driver's view, no
// context), and the host device is read from /proc and sysconf as ggml's CPU backend reads it.
// Where NVML is absent, or the build has no CUDA (NVML's GPUs would then be devices no runner can
// use), the devices come from a short-lived `cohost devices --output json` child
// (agent/engine_child.h), which is ggml's own view.
//
// Thread safety: free functions; DiscoverNodeDevices may start a child and blocks until it ends.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/nvml.h"
#include "core/device.h"
#include "core/status.h"

namespace cohost::agent {

struct NodeDevices {
  // The GPUs (kCuda, ids "gpu0", "gpu1", ... with cuda_index = NVML's index) and the host ("cpu").
  // cpu_cores is left 0: the caller decides how many cores copies may reserve.
  DeviceInventory inventory;
  // Set when the GPUs came from NVML: the handle the node keeps for reading per-process use.
  std::shared_ptr<const Nvml> nvml;
  std::string driver_version;  // NVML's; empty without it
  std::string source;          // "nvml" or "child"
};

struct DiscoveryOptions {
  std::string cohost_binary;  // for the `cohost devices` child
  bool with_cuda = false;     // the build computes on CUDA (engine::BuiltWithCuda())
  std::string nvml_library = Nvml::kDefaultLibrary;
  // The value of CUDA_VISIBLE_DEVICES in serve's environment, if set: NVML lists every GPU, so
  // only those named (by index or by UUID) are kept.
  std::optional<std::string> cuda_visible_devices;
};

// Errors: the child's (agent/engine_child.h) when it is used and fails.
StatusOr<NodeDevices> DiscoverNodeDevices(const DiscoveryOptions& options);

// The host device as ggml's CPU backend describes it: id "cpu", the CPU's model name from
// /proc/cpuinfo ("CPU" when absent), total physical memory.
Device HostDevice();

// Whether NVML device `index` with `uuid` is named by a CUDA_VISIBLE_DEVICES value ("0,2",
// "GPU-5b3c...", or a UUID prefix). Pure.
bool VisibleUnder(const std::string& cuda_visible_devices, int index, const std::string& uuid);

}  // namespace cohost::agent
