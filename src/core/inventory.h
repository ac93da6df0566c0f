// Inventory files: virtual accelerators declared in JSON, for tests, demos and simulation.
//
//   {"devices": [{"name": "vgpu0", "memory_mib": 16384, "link_group": "nvlink-a"},
//                {"name": "vgpu1", "memory_mib": 16384, "link_group": "nvlink-a"}],
//    "cpu_cores": 16,
//    "host_memory_mib": 65536}
//
// Every declared device becomes a Device of kind kVirtual whose id and name are its "name".
// "devices" is required (it may be empty: a CPU-only node); each device needs "name" (a device id,
// not "cpu") and "memory_mib" (a whole number > 0); "link_group" is optional. "cpu_cores"
// (> 0) is optional: when absent the result has cpu_cores 0 and the caller fills in the machine's
// cores. "host_memory_mib" (a whole number > 0) is optional: when present the result ends with a
// host device (id "cpu", kind kCpu) of that size, so CPU-only copies reserve host memory.
// Unknown fields are refused, so a misspelt field is never silently ignored.
//
// Parsing a string is pure: reading the file is the caller's business (main()).
// Thread safety: a free function; call from any thread.
#pragma once

#include <string_view>

#include "core/device.h"
#include "core/status.h"

namespace cohost {

// The inventory in `json`, validated (DeviceInventory::Validate holds), or InvalidArgument naming
// the field that is wrong ("devices[2].memory_mib") and what would be accepted. Text that is not
// JSON at all is InvalidArgument with an empty field and the parser's position in the message.
StatusOr<DeviceInventory> ParseInventoryJson(std::string_view json);

}  // namespace cohost
