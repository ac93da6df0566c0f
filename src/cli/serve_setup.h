// Start-up pieces of `cohost serve` that must not create a GPU context in the serve process
// (issue 13): the device inventory (NVML, or a `cohost devices` child), memory needs (a `cohost
// memory-need` child), the overhead probe's model and the cache key of its figures.
// Thread safety: free functions; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/nvml.h"
#include "core/component.h"
#include "core/device.h"
#include "core/status.h"

namespace cohost::cli {

struct ServeDevices {
  DeviceInventory inventory;
  std::shared_ptr<const agent::Nvml> nvml;  // set when GPUs came from NVML
  std::string driver_version;               // NVML's, empty without it
};

// The devices serve places copies on: an inventory file's virtual devices when `inventory_path`
// is set (cpu_cores from it, or the hardware's); otherwise the discovered GPUs and host, plus two
// 8 GiB virtual devices when there is no GPU (the demo). `cuda_visible_devices`: serve's
// CUDA_VISIBLE_DEVICES, if set. Errors: a bad inventory file; a failed discovery child.
StatusOr<ServeDevices> LoadServeDevices(const std::string& inventory_path,
                                        const std::string& cohost_binary,
                                        const std::optional<std::string>& cuda_visible_devices);

// The virtual accelerators serve uses when it finds no GPU and has no --inventory (two of 8 GiB,
// computing on the CPU, so the demo can share devices). `cohost devices` lists them too.
std::vector<Device> DefaultVirtualDevices();

// One copy's memory need in MiB (the llama.cpp dry run, in a child). Errors: as
// agent::MeasureMemoryNeedInChild.
StatusOr<int64_t> MeasureMemoryMib(const std::string& cohost_binary, const InferenceComponent& c);

// Writes the overhead probe's model (a tiny synthetic GGUF) under `data_dir` unless it is there
// already; returns its path. Errors: as engine::WriteSyntheticModel.
StatusOr<std::string> EnsureProbeModel(const std::string& data_dir);

// Identifies this cohost build (size and modification time of `binary`) for the overhead cache.
std::string BuildStamp(const std::string& binary);

}  // namespace cohost::cli
