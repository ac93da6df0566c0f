// Nvml: NVIDIA's management library, loaded at run time with dlopen.
//
// `cohost serve` discovers GPUs and reads what each runner process holds on them through NVML,
// which talks to the driver without creating a CUDA context (a CUDA context costs a process about
// 500 MiB of device memory; serve must hold none). The library is opened by name
// (libnvidia-ml.so.1, installed with the driver), so a machine without an NVIDIA driver, and a
// build without CUDA, run without it: Open() then fails with kUnavailable and callers fall back.
// No NVML header is needed: nvml.cc declares the few types and entry points it uses.
//
// Indices are NVML's (PCI bus order). CUDA's own order matches them only under
// CUDA_DEVICE_ORDER=PCI_BUS_ID, which the agent sets for every child it starts.
//
// Thread safety: NVML is thread-safe and the object is immutable after Open(); any thread may
// call any method. Destroying it calls nvmlShutdown and closes the library.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cohost::agent {

struct NvmlDeviceInfo {
  int index = 0;            // NVML's index (what CUDA_VISIBLE_DEVICES means under PCI_BUS_ID)
  std::string name;         // "NVIDIA H200"
  std::string uuid;         // "GPU-5b3c..."
  int64_t total_bytes = 0;  // device memory
  int64_t used_bytes = 0;   // in use by every process (and the driver), as the driver reports it
  int64_t free_bytes = 0;
};

struct NvmlProcessInfo {
  pid_t pid = 0;  // in the driver's (the host's) PID namespace
  // Device memory the process holds (its context, allocations and pools); nullopt when the
  // driver does not say (NVML_VALUE_NOT_AVAILABLE: MIG, some virtualised set-ups).
  std::optional<int64_t> used_bytes;
};

class Nvml {
 public:
  static constexpr char kDefaultLibrary[] = "libnvidia-ml.so.1";

  // Opens `library` (a soname or a path), resolves the entry points and initialises NVML.
  // Errors: kUnavailable when the library cannot be opened (no NVIDIA driver), lacks an entry
  // point (the message names it), or nvmlInit_v2 fails (with NVML's error string).
  static StatusOr<std::unique_ptr<Nvml>> Open(const std::string& library = kDefaultLibrary);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // The driver's version ("550.54.15"); empty when NVML does not say.
  const std::string& driver_version() const { return driver_version_; }

  // Errors: kInternal with NVML's error string.
  StatusOr<int> DeviceCount() const;
  // Errors: kInternal with NVML's error string (an index out of range among them).
  StatusOr<NvmlDeviceInfo> Device(int index) const;
  // The processes with a compute context on device `index` and what each holds there.
  // Errors: kInternal with NVML's error string.
  StatusOr<std::vector<NvmlProcessInfo>> ComputeProcesses(int index) const;

 private:
  struct Api;
  Nvml(void* handle, std::unique_ptr<Api> api);

  void* const handle_;
  const std::unique_ptr<Api> api_;
  std::string driver_version_;
};

}  // namespace cohost::agent
