#include "agent/device_pinning.h"

#include <algorithm>

#include "agent/mps.h"

namespace cohost::agent {

void PinToDevices(const policy::Assignment& assignment, const DeviceInventory& inventory,
                  bool mps_enforced, RunnerLaunch& launch) {
  std::vector<int> cuda;
  MpsLimits mps;
  std::vector<bool> overhead_counted;
  int64_t share_milli = 0;
  for (const policy::DeviceReservation& r : assignment.devices) {
    const Device* d = inventory.Find(r.device_id);
    if (d == nullptr || d->kind != DeviceKind::kCuda || d->cuda_index < 0) continue;
    cuda.push_back(d->cuda_index);
    mps.device_memory_mib.push_back(std::max<int64_t>(0, r.memory_mib));
    overhead_counted.push_back(r.process_overhead_mib > 0);
    share_milli = std::max(share_milli, r.share_milli);
  }
  // The runner's llama.cpp buffers fit in the reservation less the per-process overheads.
  launch.memory_limit_mib = assignment.buffers_limit_mib();
  bool node_has_cuda = false;
  for (const Device& d : inventory.devices)
    node_has_cuda = node_has_cuda || d.kind == DeviceKind::kCuda;
  if (!node_has_cuda) return;               // nothing to hide or pin
  if (cuda.empty()) launch.gpu_layers = 0;  // virtual devices and the host compute on the CPU
  if (mps_enforced && !cuda.empty()) {
    mps.active_thread_percentage = ActiveThreadPercentage(share_milli);
    // MPS charges the client's context to its limit. A reservation that counts the measured
    // per-process overhead (a whole context and more) already covers it; one that does not
    // (overhead unmeasured) gets the context's measured size at this percentage on top.
    for (size_t i = 0; i < mps.device_memory_mib.size(); ++i) {
      if (!overhead_counted[i]) mps.device_memory_mib[i] += MpsContextHeadroomMib(mps.active_thread_percentage);
    }
    launch.mps = std::move(mps);
  }
  launch.cuda_devices = std::move(cuda);
}

}  // namespace cohost::agent
