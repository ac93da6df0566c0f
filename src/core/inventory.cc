#include "core/inventory.h"

#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "core/requirements.h"

namespace cohost {
namespace {

using nlohmann::json;

// Refuses keys of `object` outside `allowed`, naming the first unknown one.
Status CheckKnownFields(const json& object, const std::string& prefix,
                        std::initializer_list<std::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return InvalidArgument(prefix + it.key(), "unknown field; accepted fields: " + list);
  }
  return Status::Ok();
}

// A whole number of MiB > 0.
StatusOr<int64_t> ParseMib(const json& value, const std::string& field) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() &&
       value.get<uint64_t>() > static_cast<uint64_t>(kMaxMemoryMib))) {
    return InvalidArgument(
        field, "must be a whole number of MiB between 1 and " + std::to_string(kMaxMemoryMib));
  }
  const int64_t mib = value.get<int64_t>();
  if (mib <= 0 || mib > kMaxMemoryMib) {
    return InvalidArgument(field, "must be a whole number of MiB between 1 and " +
                                      std::to_string(kMaxMemoryMib) + " (got " +
                                      std::to_string(mib) + ")");
  }
  return mib;
}

StatusOr<Device> ParseDevice(const json& entry, const std::string& at) {
  if (!entry.is_object()) {
    return InvalidArgument(at,
                           "must be an object like {\"name\": \"vgpu0\", \"memory_mib\": 16384}");
  }
  RETURN_IF_ERROR(CheckKnownFields(entry, at + ".", {"name", "memory_mib", "link_group"}));
  Device device;
  device.kind = DeviceKind::kVirtual;
  auto name = entry.find("name");
  if (name == entry.end() || !name->is_string()) {
    return InvalidArgument(at + ".name", "is required: a device id such as \"vgpu0\"");
  }
  device.id = name->get<std::string>();
  device.name = device.id;
  RETURN_IF_ERROR(ValidateDeviceId(device.id, at + ".name"));
  if (device.id == kHostDeviceId) {
    return InvalidArgument(at + ".name",
                           "\"cpu\" is reserved for the host; use "
                           "\"host_memory_mib\" to declare host memory");
  }
  auto memory = entry.find("memory_mib");
  if (memory == entry.end()) {
    return InvalidArgument(at + ".memory_mib", "is required: the device's memory in MiB");
  }
  ASSIGN_OR_RETURN(device.memory_mib, ParseMib(*memory, at + ".memory_mib"));
  auto group = entry.find("link_group");
  if (group != entry.end()) {
    if (!group->is_string()) {
      return InvalidArgument(at + ".link_group", "must be a string such as \"nvlink-a\"");
    }
    device.link_group = group->get<std::string>();
    RETURN_IF_ERROR(ValidateDeviceId(device.link_group, at + ".link_group"));
  }
  return device;
}

StatusOr<DeviceInventory> ParseInventory(const json& root) {
  if (!root.is_object()) {
    return InvalidArgument("", "an inventory must be a JSON object with a \"devices\" array");
  }
  RETURN_IF_ERROR(CheckKnownFields(root, "", {"devices", "cpu_cores", "host_memory_mib"}));
  DeviceInventory inventory;
  auto devices = root.find("devices");
  if (devices == root.end() || !devices->is_array()) {
    return InvalidArgument("devices",
                           "is required: an array of {\"name\", \"memory_mib\", "
                           "\"link_group\"} objects (it may be empty)");
  }
  for (size_t i = 0; i < devices->size(); ++i) {
    const std::string at = "devices[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Device device, ParseDevice((*devices)[i], at));
    if (inventory.Find(device.id) != nullptr) {
      return InvalidArgument(at + ".name", "duplicate device name \"" + device.id + "\"");
    }
    inventory.devices.push_back(std::move(device));
  }
  auto cores = root.find("cpu_cores");
  if (cores != root.end()) {
    const double value = cores->is_number() ? cores->get<double>() : -1;
    if (!(value > 0) || value > kMaxCpuCores || ToMilli(value) == 0) {
      return InvalidArgument("cpu_cores", "must be a number of cores between 0.001 and " +
                                              std::to_string(static_cast<int64_t>(kMaxCpuCores)));
    }
    inventory.cpu_cores = value;
  }
  auto host = root.find("host_memory_mib");
  if (host != root.end()) {
    Device cpu;
    cpu.id = std::string(kHostDeviceId);
    cpu.name = "host";
    cpu.kind = DeviceKind::kCpu;
    ASSIGN_OR_RETURN(cpu.memory_mib, ParseMib(*host, "host_memory_mib"));
    inventory.devices.push_back(std::move(cpu));
  }
  RETURN_IF_ERROR(inventory.Validate());
  return inventory;
}

}  // namespace

StatusOr<DeviceInventory> ParseInventoryJson(std::string_view text) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // nlohmann reports the byte position in its message ("at line 3, column 7").
    return InvalidArgument("", std::string("the inventory is not valid JSON: ") + e.what());
  }
  return ParseInventory(root);
}

}  // namespace cohost
