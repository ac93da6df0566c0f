#include "agent/copy_memory.h"

namespace cohost::agent {

int64_t CopyMemoryUse::reserved_mib() const {
  int64_t total = 0;
  for (const DeviceMemoryUse& d : devices) total += d.reserved_mib;
  return total;
}

std::optional<int64_t> CopyMemoryUse::used_bytes() const {
  std::optional<int64_t> total;
  for (const DeviceMemoryUse& d : devices) {
    if (d.used_bytes) total = total.value_or(0) + *d.used_bytes;
  }
  return total;
}

bool CopyMemoryUse::over_reservation() const {
  for (const DeviceMemoryUse& d : devices) {
    if (d.over()) return true;
  }
  return false;
}

CopyMemoryUse MeasureCopyMemory(pid_t pid, const policy::Assignment& assignment,
                                const DeviceInventory& inventory,
                                const ProcessMemoryReader& reader) {
  CopyMemoryUse out;
  // The host-computing devices share one per-process figure, read once.
  int64_t host_reserved = 0;
  std::optional<int64_t> host_used;
  bool host_read = false;
  for (const policy::DeviceReservation& r : assignment.devices) {
    DeviceMemoryUse use{r.device_id, r.memory_mib, r.process_overhead_mib, std::nullopt};
    const Device* device = inventory.Find(r.device_id);
    if (device != nullptr && pid > 0) {
      if (device->kind == DeviceKind::kCuda) {
        use.used_bytes = reader.ProcessUsedBytes(pid, *device);
      } else {
        if (!host_read) host_used = reader.ProcessUsedBytes(pid, *device);
        host_read = true;
        host_reserved += r.memory_mib;
      }
    }
    out.devices.push_back(std::move(use));
  }
  if (!host_used) return out;
  const int64_t host_devices = [&] {
    int64_t n = 0;
    for (const policy::DeviceReservation& r : assignment.devices) {
      const Device* d = inventory.Find(r.device_id);
      n += d != nullptr && d->kind != DeviceKind::kCuda ? 1 : 0;
    }
    return n;
  }();
  for (size_t i = 0; i < out.devices.size(); ++i) {
    const Device* d = inventory.Find(out.devices[i].device_id);
    if (d == nullptr || d->kind == DeviceKind::kCuda) continue;
    const double share = host_reserved > 0 ? static_cast<double>(out.devices[i].reserved_mib) /
                                                 static_cast<double>(host_reserved)
                                           : 1.0 / static_cast<double>(host_devices);
    out.devices[i].used_bytes = static_cast<int64_t>(share * static_cast<double>(*host_used));
  }
  return out;
}

}  // namespace cohost::agent
