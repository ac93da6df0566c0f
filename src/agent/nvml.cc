#include "agent/nvml.h"

#include <dlfcn.h>

#include <array>

namespace cohost::agent {
namespace {

// The parts of nvml.h we use, declared here (no NVML headers are installed where cohost builds).
// Layouts and values are NVML's stable ABI.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr nvmlReturn_t kNvmlErrorInsufficientSize = 7;
constexpr unsigned long long kNvmlValueNotAvailable = ~0ULL;
constexpr unsigned int kNvmlNameBuffer = 96;    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int kNvmlUuidBuffer = 96;    // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned int kNvmlDriverBuffer = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// nvmlProcessInfo_t as nvmlDeviceGetComputeRunningProcesses_v2 and _v3 take it.
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

template <typename F>
bool Resolve(void* handle, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(handle, name));
  return *out != nullptr;
}

}  // namespace

struct Nvml::Api {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*driver_version)(char*, unsigned int);
  nvmlReturn_t (*count)(unsigned int*);
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*processes)(nvmlDevice_t, unsigned int*, nvmlProcessInfo_t*);

  std::string Error(const char* call, nvmlReturn_t rc) const {
    const char* text = error_string ? error_string(rc) : nullptr;
    return std::string(call) + ": " + (text ? text : "NVML error " + std::to_string(rc));
  }
};

StatusOr<std::unique_ptr<Nvml>> Nvml::Open(const std::string& library) {
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Unavailable("NVML is not available (" + library + "): " + (why ? why : "cannot open"));
  }
  auto api = std::make_unique<Api>();
  const char* missing = nullptr;
  auto need = [&](const char* name, auto* fn) {
    if (missing == nullptr && !Resolve(handle, name, fn)) missing = name;
  };
  need("nvmlInit_v2", &api->init);
  need("nvmlShutdown", &api->shutdown);
  need("nvmlErrorString", &api->error_string);
  need("nvmlSystemGetDriverVersion", &api->driver_version);
  need("nvmlDeviceGetCount_v2", &api->count);
  need("nvmlDeviceGetHandleByIndex_v2", &api->handle_by_index);
  need("nvmlDeviceGetName", &api->name);
  need("nvmlDeviceGetUUID", &api->uuid);
  need("nvmlDeviceGetMemoryInfo", &api->memory);
  // _v3 since driver 510; _v2 (same struct) before it.
  if (!Resolve(handle, "nvmlDeviceGetComputeRunningProcesses_v3", &api->processes)) {
    need("nvmlDeviceGetComputeRunningProcesses_v2", &api->processes);
  }
  if (missing != nullptr) {
    dlclose(handle);
    return Unavailable("NVML library " + library + " lacks " + missing);
  }
  if (nvmlReturn_t rc = api->init(); rc != kNvmlSuccess) {
    std::string why = api->Error("nvmlInit_v2", rc);
    dlclose(handle);
    return Unavailable("NVML did not initialise: " + why);
  }
  std::unique_ptr<Nvml> nvml(new Nvml(handle, std::move(api)));
  std::array<char, kNvmlDriverBuffer> version{};
  if (nvml->api_->driver_version(version.data(), kNvmlDriverBuffer) == kNvmlSuccess) {
    nvml->driver_version_ = version.data();
  }
  return nvml;
}

Nvml::Nvml(void* handle, std::unique_ptr<Api> api) : handle_(handle), api_(std::move(api)) {}

Nvml::~Nvml() {
  api_->shutdown();
  dlclose(handle_);
}

StatusOr<int> Nvml::DeviceCount() const {
  unsigned int n = 0;
  if (nvmlReturn_t rc = api_->count(&n); rc != kNvmlSuccess) {
    return Internal(api_->Error("nvmlDeviceGetCount_v2", rc));
  }
  return static_cast<int>(n);
}

StatusOr<NvmlDeviceInfo> Nvml::Device(int index) const {
  nvmlDevice_t dev = nullptr;
  if (nvmlReturn_t rc = api_->handle_by_index(static_cast<unsigned int>(index), &dev);
      rc != kNvmlSuccess) {
    return Internal(api_->Error("nvmlDeviceGetHandleByIndex_v2", rc));
  }
  NvmlDeviceInfo info;
  info.index = index;
  std::array<char, kNvmlNameBuffer> name{};
  if (nvmlReturn_t rc = api_->name(dev, name.data(), kNvmlNameBuffer); rc != kNvmlSuccess) {
    return Internal(api_->Error("nvmlDeviceGetName", rc));
  }
  info.name = name.data();
  std::array<char, kNvmlUuidBuffer> uuid{};
  if (api_->uuid(dev, uuid.data(), kNvmlUuidBuffer) == kNvmlSuccess) info.uuid = uuid.data();
  nvmlMemory_t memory{};
  if (nvmlReturn_t rc = api_->memory(dev, &memory); rc != kNvmlSuccess) {
    return Internal(api_->Error("nvmlDeviceGetMemoryInfo", rc));
  }
  info.total_bytes = static_cast<int64_t>(memory.total);
  info.used_bytes = static_cast<int64_t>(memory.used);
  info.free_bytes = static_cast<int64_t>(memory.free);
  return info;
}

StatusOr<std::vector<NvmlProcessInfo>> Nvml::ComputeProcesses(int index) const {
  nvmlDevice_t dev = nullptr;
  if (nvmlReturn_t rc = api_->handle_by_index(static_cast<unsigned int>(index), &dev);
      rc != kNvmlSuccess) {
    return Internal(api_->Error("nvmlDeviceGetHandleByIndex_v2", rc));
  }
  // The count can grow between the sizing call and the real one: retry with room to spare.
  std::vector<nvmlProcessInfo_t> raw(16);
  for (int attempt = 0;; ++attempt) {
    unsigned int count = static_cast<unsigned int>(raw.size());
    nvmlReturn_t rc = api_->processes(dev, &count, raw.data());
    if (rc == kNvmlSuccess) {
      raw.resize(count);
      break;
    }
    if (rc != kNvmlErrorInsufficientSize || attempt == 3) {
      return Internal(api_->Error("nvmlDeviceGetComputeRunningProcesses", rc));
    }
    raw.assign(static_cast<size_t>(count) + 8, nvmlProcessInfo_t{});
  }
  std::vector<NvmlProcessInfo> out;
  for (const nvmlProcessInfo_t& p : raw) {
    NvmlProcessInfo info;
    info.pid = static_cast<pid_t>(p.pid);
    if (p.usedGpuMemory != kNvmlValueNotAvailable)
      info.used_bytes = static_cast<int64_t>(p.usedGpuMemory);
    out.push_back(info);
  }
  return out;
}

}  // namespace cohost::agent
