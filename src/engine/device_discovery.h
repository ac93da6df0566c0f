// Discovers the devices of this node through ggml's backend registry.
//
// GPUs (CUDA in our builds) become kCuda devices "gpu0", "gpu1", ... with their total memory;
// the host becomes the "cpu" device with its RAM. Virtual accelerators are not discovered: they
// come from an inventory file (core/inventory.h). Call after InitLlamaRuntime().
// Thread safety: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"

namespace cohost::engine {

struct DiscoveredDevice {
  Device device;
  int64_t free_mib = 0;     // free now, as the driver reports it
  std::string backend_name; // ggml's name, e.g. "CUDA0", "CPU"
};

std::vector<DiscoveredDevice> DiscoverDevices();

// An inventory of the discovered devices, with the node's CPU cores. Empty of accelerators on a
// machine without a GPU.
DeviceInventory DiscoveredInventory();

// Whether this build's ggml computes on CUDA. Constant; touches no backend (safe in `cohost
// serve`, which must not create a GPU context).
bool BuiltWithCuda();

}  // namespace cohost::engine
