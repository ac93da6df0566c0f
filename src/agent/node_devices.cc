#include "agent/node_devices.h"

#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "agent/engine_child.h"
#include "core/log.h"

namespace cohost::agent {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

StatusOr<NodeDevices> FromNvml(std::shared_ptr<const Nvml> nvml, const DiscoveryOptions& o) {
  NodeDevices out;
  ASSIGN_OR_RETURN(int count, nvml->DeviceCount());
  int next = 0;
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(NvmlDeviceInfo info, nvml->Device(i));
    if (o.cuda_visible_devices && !VisibleUnder(*o.cuda_visible_devices, i, info.uuid)) continue;
    Device d;
    d.id = "gpu" + std::to_string(next++);
    d.name = info.name;
    d.kind = DeviceKind::kCuda;
    d.memory_mib = info.total_bytes >> 20;
    d.cuda_index = i;
    out.inventory.devices.push_back(std::move(d));
  }
  out.inventory.devices.push_back(HostDevice());
  out.driver_version = nvml->driver_version();
  out.nvml = std::move(nvml);
  out.source = "nvml";
  return out;
}

}  // namespace

Device HostDevice() {
  Device d;
  d.id = std::string(kHostDeviceId);
  d.kind = DeviceKind::kCpu;
  d.name = "CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon != std::string::npos) d.name = Trim(line.substr(colon + 1));
    break;
  }
  d.memory_mib = (static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE)) >> 20;
  return d;
}

bool VisibleUnder(const std::string& list, int index, const std::string& uuid) {
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    item = Trim(item);
    if (item.empty()) continue;
    if (item == std::to_string(index)) return true;
    if (item.rfind("GPU-", 0) == 0 && !uuid.empty() && uuid.rfind(item, 0) == 0) return true;
  }
  return false;
}

StatusOr<NodeDevices> DiscoverNodeDevices(const DiscoveryOptions& o) {
  if (o.with_cuda) {
    auto nvml = Nvml::Open(o.nvml_library);
    if (nvml.ok()) return FromNvml(std::shared_ptr<const Nvml>(std::move(*nvml)), o);
    log::Info("discovering devices through a child process", {{"why", nvml.status().message()}});
  }
  ASSIGN_OR_RETURN(std::vector<ChildDevice> found, DiscoverDevicesInChild(o.cohost_binary));
  NodeDevices out;
  for (ChildDevice& c : found) out.inventory.devices.push_back(std::move(c.device));
  out.source = "child";
  return out;
}

}  // namespace cohost::agent
