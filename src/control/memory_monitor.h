// MemoryMonitor: what every copy of one node reserves against what its runner process really
// uses, per copy and per device (issue 13).
//
// Each Measure() reads every copy's use (agent/copy_memory.h through a ProcessMemoryReader),
// updates the per-copy and per-device gauges, and records an event when a copy's use rises above
// its reservation on some device ("MemoryOverReservation", counted in
// cohost_copy_memory_over_reservation_total) and when it is back within it
// ("MemoryWithinReservation"): once per excursion, not once per measurement. A copy whose use is
// unknown (no process yet, a restart under way) keeps its last state.
//
// Threads: one owner thread (the node controller's Tick thread) makes every call.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/copy_memory.h"
#include "agent/overhead_probe.h"
#include "agent/process_memory.h"
#include "core/device.h"
#include "core/metrics.h"
#include "policy/placement.h"

namespace cohost::control {

struct MemoryMonitorOptions {
  // Reads the processes' use; null: use is never known (only reservations are reported).
  const agent::ProcessMemoryReader* reader = nullptr;
  // Gauges and the excursion counter go here; null: none.
  MetricsRegistry* metrics = nullptr;
  // Records an event about copy `copy_id` (the store's event log). Required.
  std::function<void(const std::string& copy_id, const std::string& reason,
                     const std::string& message)>
      record;
  // Where each device's per-process overhead came from (device id -> figure and source).
  std::map<std::string, agent::DeviceOverhead> overheads;
};

class MemoryMonitor {
 public:
  // `inventory` (with its devices' process_overhead_mib) must outlive the monitor.
  MemoryMonitor(const DeviceInventory& inventory, MemoryMonitorOptions options);

  // One copy as the node controller sees it now.
  struct CopyView {
    std::string id;
    std::string component;
    std::optional<pid_t> pid;              // its runner; nullopt when none is running
    const policy::Assignment* assignment;  // what it reserves; must stay valid during the call
  };

  // Measures every copy in `copies`; copies not listed are forgotten (their series removed).
  void Measure(const std::vector<CopyView>& copies);
  // Notes the llama.cpp buffers a copy's runner reported (its /stats memory_bytes).
  void SetBuffers(const std::string& copy_id, const std::string& component, int64_t bytes);

  // The "memory" object of a copy's status: reserved, used (null when unknown), buffers, whether
  // it is over its reservation, and per device. `assignment`: the copy's.
  nlohmann::json CopyJson(const std::string& copy_id, const policy::Assignment& assignment) const;
  // Fields for a device's entry in /v1/devices: process_overhead_mib (+ _source, _detail),
  // used_memory_mib (null when no copy's use there is known), driver_used_memory_mib (CUDA with
  // NVML), and copies: [{id, component, reserved_memory_mib, used_memory_mib}].
  nlohmann::json DeviceJson(const Device& device) const;

 private:
  struct CopyState {
    std::string component;
    agent::CopyMemoryUse use;
    bool over = false;  // in an excursion (its start was recorded)
    std::optional<int64_t> buffers_bytes;
  };

  void Track(const CopyView& copy, CopyState& state);
  void PublishGauges();

  const DeviceInventory& inventory_;
  const MemoryMonitorOptions options_;
  std::map<std::string, CopyState> copies_;
  std::map<std::string, int64_t> driver_used_;  // device id -> bytes, CUDA devices with NVML
};

}  // namespace cohost::control
