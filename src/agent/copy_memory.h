// CopyMemory: what one copy reserves and what its runner process really uses, device by device.
//
// Reserved is the copy's assignment (its memory_mib plus each device's per-process overhead).
// Used comes from a ProcessMemoryReader: on a CUDA device the driver's figure for the process
// there; on virtual devices and the host the process's resident memory, which is one figure for
// the whole process, split over the copy's non-CUDA devices in proportion to its reservations on
// them (a copy on one virtual device, the usual case, gets all of it).
//
// Thread safety: values and a function of its arguments (plus the reader's I/O); any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/process_memory.h"
#include "core/device.h"
#include "policy/placement.h"

namespace cohost::agent {

struct DeviceMemoryUse {
  std::string device_id;
  int64_t reserved_mib = 0;           // the whole reservation on the device (overhead included)
  int64_t overhead_mib = 0;           // its per-process overhead part
  std::optional<int64_t> used_bytes;  // measured; nullopt when unknown

  // Measured use above the reservation.
  bool over() const { return used_bytes && *used_bytes > reserved_mib * (int64_t{1} << 20); }
};

struct CopyMemoryUse {
  std::vector<DeviceMemoryUse> devices;  // in the assignment's order

  int64_t reserved_mib() const;
  // The sum over devices; nullopt when no device's use is known.
  std::optional<int64_t> used_bytes() const;
  // True when the use on some device is above the reservation there.
  bool over_reservation() const;
};

// What process `pid` of a copy placed by `assignment` uses on each of its devices. Devices the
// inventory does not know, and a pid <= 0 (no process), give unknown use.
CopyMemoryUse MeasureCopyMemory(pid_t pid, const policy::Assignment& assignment,
                                const DeviceInventory& inventory,
                                const ProcessMemoryReader& reader);

}  // namespace cohost::agent
