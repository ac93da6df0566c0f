#include "agent/device_pinning.h"

#include <algorithm>

#include "agent/mps.h"

namespace cohost::agent {

void PinToDevices(const policy::Assignment& assignment, const DeviceInventory& inventory,
                  bool mps_enforced, RunnerLaunch& launch) {
  int64_t memory_mib = 0;
  std::vector<int> cuda;
  MpsLimits mps;
  int64_t share_milli = 0;
  for (const policy::DeviceReservation& r : assignment.devices) {
    memory_mib += r.memory_mib;
    const Device* d = inventory.Find(r.device_id);
    if (d == nullptr || d->kind != DeviceKind::kCuda || d->cuda_index < 0) continue;
    cuda.push_back(d->cuda_index);
    mps.device_memory_mib.push_back(std::max<int64_t>(0, r.memory_mib));
    share_milli = std::max(share_milli, r.share_milli);
  }
  launch.memory_limit_mib = memory_mib;
  bool node_has_cuda = false;
  for (const Device& d : inventory.devices)
    node_has_cuda = node_has_cuda || d.kind == DeviceKind::kCuda;
  if (!node_has_cuda) return;               // nothing to hide or pin
  if (cuda.empty()) launch.gpu_layers = 0;  // virtual devices and the host compute on the CPU
  if (mps_enforced && !cuda.empty()) {
    mps.active_thread_percentage = ActiveThreadPercentage(share_milli);
    for (int64_t& mib : mps.device_memory_mib)
      mib += MpsContextHeadroomMib(mps.active_thread_percentage);
    launch.mps = std::move(mps);
  }
  launch.cuda_devices = std::move(cuda);
}

}  // namespace cohost::agent
