#include "engine/device_discovery.h"

#include <cstdlib>

#include <ggml-backend.h>

#include <thread>

namespace cohost::engine {

std::vector<DiscoveredDevice> DiscoverDevices() {
  std::vector<DiscoveredDevice> out;
  int gpu = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(dev, &free, &total);
    DiscoveredDevice d;
    d.backend_name = ggml_backend_dev_name(dev);
    d.free_mib = static_cast<int64_t>(free >> 20);
    d.device.name = ggml_backend_dev_description(dev);
    d.device.memory_mib = static_cast<int64_t>(total >> 20);
    switch (ggml_backend_dev_type(dev)) {
      case GGML_BACKEND_DEVICE_TYPE_GPU:
        d.device.id = "gpu" + std::to_string(gpu++);
        d.device.kind = DeviceKind::kCuda;
        if (d.backend_name.rfind("CUDA", 0) == 0) d.device.cuda_index = std::atoi(d.backend_name.c_str() + 4);
        break;
      case GGML_BACKEND_DEVICE_TYPE_CPU:
        d.device.id = std::string(kHostDeviceId);
        d.device.kind = DeviceKind::kCpu;
        break;
      default:
        continue;  // integrated GPUs and other accelerators are not scheduled (yet)
    }
    out.push_back(std::move(d));
  }
  return out;
}

DeviceInventory DiscoveredInventory() {
  DeviceInventory inv;
  for (DiscoveredDevice& d : DiscoverDevices()) inv.devices.push_back(std::move(d.device));
  inv.cpu_cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
  return inv;
}

bool BuiltWithCuda() {
#ifdef COHOST_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace cohost::engine
