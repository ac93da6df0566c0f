// PinToDevices: what a copy's placement means for its runner process: the memory limit, the CUDA
// devices it may see, whether it offloads, and (when an MPS daemon enforces shares) its MPS
// limits. Pure: the node controller calls it for every copy it starts; tests call it directly.
// Thread safety: a pure function; any thread.
#pragma once

#include "agent/runner_command.h"
#include "core/device.h"
#include "policy/placement.h"

namespace cohost::agent {

// Sets on `launch`:
//  - memory_limit_mib: the copy's reservation, summed over its devices;
//  - on a node with CUDA devices: cuda_devices = the CUDA devices the copy was placed on, in
//    assignment order (none for a copy on virtual devices or the host, which also offloads
//    nothing: gpu_layers = 0);
//  - with `mps_enforced` and at least one CUDA device: mps = its largest share of those devices as
//    an active thread percentage, and as the device memory limit on each its reservation there
//    plus the MPS client's own CUDA context at that percentage (MpsContextHeadroomMib).
// Devices of the assignment that `inventory` lacks are ignored.
void PinToDevices(const policy::Assignment& assignment, const DeviceInventory& inventory,
                  bool mps_enforced, RunnerLaunch& launch);

}  // namespace cohost::agent
