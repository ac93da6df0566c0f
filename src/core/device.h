// Device and DeviceInventory: the accelerators of one node, and its CPU.
//
// A device is a CUDA GPU found through ggml's backend registry, or a *virtual accelerator*
// declared in an inventory file that computes on the CPU (for tests, demos and simulation). Virtual
// devices are always reported as virtual: `kind` says so, and nothing else may claim it. The host
// itself can be described as a device of kind kCpu (id "cpu") so that CPU-only copies reserve host
// memory the same way accelerator copies reserve device memory.
//
// Thread safety: plain values; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost {

enum class DeviceKind {
  kCuda,     // a CUDA GPU
  kCpu,      // the host: CPU cores and RAM (the "cpu" pseudo-device)
  kVirtual,  // a virtual accelerator from an inventory file; computes on the CPU
};

// "cuda", "cpu", "virtual".
const char* DeviceKindName(DeviceKind kind);
// Parses the names above; InvalidArgument naming `field` otherwise.
StatusOr<DeviceKind> ParseDeviceKind(std::string_view text, std::string_view field = "kind");

// The id reserved for the host pseudo-device.
inline constexpr std::string_view kHostDeviceId = "cpu";

struct Device {
  // Stable short id used in assignments, the API and logs: "gpu0", "vgpu1", "cpu".
  std::string id;
  // Human-readable name: "NVIDIA H100 80GB HBM3", or the inventory name for a virtual device.
  std::string name;
  DeviceKind kind = DeviceKind::kVirtual;
  // Total memory, MiB (host RAM for kCpu).
  int64_t memory_mib = 0;
  // Devices with the same non-empty link group are joined by a fast link (an NVLink pair, say);
  // multi-device copies prefer devices of one group. Empty: in no group.
  std::string link_group;
  // The index the CUDA runtime gives a kCuda device (what CUDA_VISIBLE_DEVICES lists); -1 for
  // virtual devices and the host.
  int cuda_index = -1;
  // MiB every runner process takes on this device besides the llama.cpp buffers (weights, KV
  // cache, compute) that a copy's `memory_mib` counts: on a CUDA GPU its context, cuBLAS
  // workspace and ggml pools; on a virtual device or the host, the process's own resident memory.
  // Measured once per device type at start-up (agent/overhead_probe.h) and added to the
  // reservation of every copy placed on the device. 0: none counted.
  int64_t process_overhead_mib = 0;

  bool is_virtual() const { return kind == DeviceKind::kVirtual; }
  // True for devices that hold accelerator copies (cuda or virtual), false for the host.
  bool is_accelerator() const { return kind != DeviceKind::kCpu; }
};

// OK when `id` can name a device: 1 to 63 characters of [A-Za-z0-9._-], starting with a letter or
// digit. InvalidArgument naming `field` otherwise.
Status ValidateDeviceId(std::string_view id, std::string_view field);

// Everything placement needs to know about one node's hardware.
struct DeviceInventory {
  // Accelerators (kCuda or kVirtual) and at most one host device (kCpu), in a stable order.
  std::vector<Device> devices;
  // CPU cores of the node that copies may reserve (may be fractional, e.g. to hold some back).
  double cpu_cores = 0;

  // The device with that id, or nullptr. The pointer lives as long as `devices` is not modified.
  const Device* Find(std::string_view id) const;
  // Number of accelerator devices (kCuda or kVirtual).
  int accelerator_count() const;
  // True when any device is virtual.
  bool has_virtual() const;

  // OK, or InvalidArgument naming the field ("devices[2].memory_mib", "cpu_cores"): every id
  // valid and unique, memory positive, at most one kCpu device and only with id "cpu",
  // cpu_cores finite and >= 0.
  Status Validate() const;
};

}  // namespace cohost
