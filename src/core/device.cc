#include "core/device.h"

#include <cmath>
#include <set>
#include <string>

#include "core/requirements.h"

namespace cohost {

const char* DeviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kVirtual:
      return "virtual";
  }
  return "unknown";
}

StatusOr<DeviceKind> ParseDeviceKind(std::string_view text, std::string_view field) {
  if (text == "cuda") return DeviceKind::kCuda;
  if (text == "cpu") return DeviceKind::kCpu;
  if (text == "virtual") return DeviceKind::kVirtual;
  return InvalidArgument(std::string(field), "must be \"cuda\", \"cpu\" or \"virtual\" (got \"" +
                                                 std::string(text) + "\")");
}

Status ValidateDeviceId(std::string_view id, std::string_view field) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  bool ok = !id.empty() && id.size() <= 63 && alnum(id.front());
  for (char c : id) ok = ok && (alnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return InvalidArgument(std::string(field),
                           "must be 1 to 63 characters of letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit (got \"" +
                               std::string(id) + "\")");
  }
  return Status::Ok();
}

const Device* DeviceInventory::Find(std::string_view id) const {
  for (const Device& d : devices) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

int DeviceInventory::accelerator_count() const {
  int n = 0;
  for (const Device& d : devices) n += d.is_accelerator() ? 1 : 0;
  return n;
}

bool DeviceInventory::has_virtual() const {
  for (const Device& d : devices) {
    if (d.is_virtual()) return true;
  }
  return false;
}

Status DeviceInventory::Validate() const {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < devices.size(); ++i) {
    const Device& d = devices[i];
    const std::string at = "devices[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(ValidateDeviceId(d.id, at + ".id"));
    if (!seen.insert(d.id).second) {
      return InvalidArgument(at + ".id", "duplicate device id \"" + d.id + "\"");
    }
    if ((d.kind == DeviceKind::kCpu) != (d.id == kHostDeviceId)) {
      return InvalidArgument(at + ".id",
                             "the id \"cpu\" is reserved for the host device, which "
                             "must have kind cpu (got id \"" +
                                 d.id + "\" with kind " + DeviceKindName(d.kind) + ")");
    }
    if (d.memory_mib <= 0 || d.memory_mib > kMaxMemoryMib) {
      return InvalidArgument(at + ".memory_mib", "must be a number of MiB between 1 and " +
                                                     std::to_string(kMaxMemoryMib) + " (got " +
                                                     std::to_string(d.memory_mib) + ")");
    }
    if (d.process_overhead_mib < 0 || d.process_overhead_mib > d.memory_mib) {
      return InvalidArgument(at + ".process_overhead_mib",
                             "must be between 0 and the device's memory_mib (got " +
                                 std::to_string(d.process_overhead_mib) + ")");
    }
  }
  if (!std::isfinite(cpu_cores) || cpu_cores < 0 || cpu_cores > kMaxCpuCores) {
    return InvalidArgument("cpu_cores", "must be a number of cores between 0 and " +
                                            std::to_string(static_cast<int64_t>(kMaxCpuCores)));
  }
  return Status::Ok();
}

}  // namespace cohost
