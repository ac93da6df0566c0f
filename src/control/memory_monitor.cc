#include "control/memory_monitor.h"

#include "core/metric_names.h"

namespace cohost::control {
namespace {

using json = nlohmann::json;
constexpr double kMiB = 1048576.0;

// Knows nothing: for a monitor without a reader.
class NullReader : public agent::ProcessMemoryReader {
 public:
  std::optional<int64_t> ProcessUsedBytes(pid_t, const Device&) const override {
    return std::nullopt;
  }
  std::optional<int64_t> DeviceUsedBytes(const Device&) const override { return std::nullopt; }
};

int64_t ToMib(int64_t bytes) { return (bytes + (1 << 20) - 1) >> 20; }

json MibOrNull(const std::optional<int64_t>& bytes) {
  return bytes ? json(ToMib(*bytes)) : json(nullptr);
}

// "1 MiB over on vgpu0 (used 40, reserved 39 = 39 for the model + 0 per-process overhead)".
std::string DescribeDevices(const agent::CopyMemoryUse& use, bool over_only) {
  std::string out;
  for (const agent::DeviceMemoryUse& d : use.devices) {
    if (!d.used_bytes || (over_only && !d.over())) continue;
    out += (out.empty() ? "" : "; ") + d.device_id + ": uses " +
           std::to_string(ToMib(*d.used_bytes)) + " MiB of " + std::to_string(d.reserved_mib) +
           " MiB reserved (" + std::to_string(d.reserved_mib - d.overhead_mib) +
           " MiB for the model + " + std::to_string(d.overhead_mib) + " MiB per-process overhead)";
  }
  return out;
}

}  // namespace

MemoryMonitor::MemoryMonitor(const DeviceInventory& inventory, MemoryMonitorOptions options)
    : inventory_(inventory), options_(std::move(options)) {}

void MemoryMonitor::Measure(const std::vector<CopyView>& copies) {
  std::map<std::string, CopyState> next;
  for (const CopyView& c : copies) {
    auto it = copies_.find(c.id);
    CopyState state = it == copies_.end() ? CopyState{c.component, {}, false, std::nullopt}
                                          : std::move(it->second);
    Track(c, state);
    next.emplace(c.id, std::move(state));
  }
  copies_ = std::move(next);
  driver_used_.clear();
  if (options_.reader != nullptr) {
    for (const Device& d : inventory_.devices) {
      if (auto used = options_.reader->DeviceUsedBytes(d)) driver_used_[d.id] = *used;
    }
  }
  if (options_.metrics != nullptr) PublishGauges();
}

void MemoryMonitor::Track(const CopyView& copy, CopyState& state) {
  static const NullReader kNull;
  const agent::ProcessMemoryReader& reader = options_.reader ? *options_.reader : kNull;
  agent::CopyMemoryUse use =
      agent::MeasureCopyMemory(copy.pid.value_or(0), *copy.assignment, inventory_, reader);
  if (!use.used_bytes()) {
    // Nothing read now. A running process keeps its last reading (a transient failure); without
    // a process the copy holds nothing. The excursion state stays as it was.
    if (copy.pid) {
      for (size_t i = 0; i < use.devices.size() && i < state.use.devices.size(); ++i) {
        if (state.use.devices[i].device_id == use.devices[i].device_id) {
          use.devices[i].used_bytes = state.use.devices[i].used_bytes;
        }
      }
    }
    state.use = std::move(use);
    return;
  }
  const bool over = use.over_reservation();
  if (over && !state.over) {
    options_.record(copy.id, "MemoryOverReservation",
                    "copy of " + copy.component +
                        " uses more memory than it reserved: " + DescribeDevices(use, true));
    if (options_.metrics != nullptr) {
      options_.metrics
          ->Get(metric::kCopyMemoryOverReservationTotal, {{"component", copy.component}})
          .Add(1);
    }
  } else if (!over && state.over) {
    options_.record(copy.id, "MemoryWithinReservation",
                    "copy of " + copy.component +
                        " is back within its reservation: " + DescribeDevices(use, false));
  }
  state.over = over;
  state.use = std::move(use);
}

void MemoryMonitor::SetBuffers(const std::string& copy_id, const std::string& component,
                               int64_t bytes) {
  auto it = copies_.find(copy_id);
  if (it != copies_.end()) it->second.buffers_bytes = bytes;
  if (options_.metrics != nullptr) {
    options_.metrics
        ->Get(metric::kCopyMemoryBuffersBytes, {{"component", component}, {"copy", copy_id}})
        .Set(static_cast<double>(bytes));
  }
}

void MemoryMonitor::PublishGauges() {
  MetricsRegistry& m = *options_.metrics;
  for (const char* name : {metric::kCopyMemoryReservedBytes, metric::kCopyMemoryUsedBytes})
    m.Remove(name, {});
  std::map<std::string, double> used;
  for (const auto& [id, s] : copies_) {
    for (const agent::DeviceMemoryUse& d : s.use.devices) {
      Labels l = {{"component", s.component}, {"copy", id}, {"device", d.device_id}};
      m.Get(metric::kCopyMemoryReservedBytes, l).Set(static_cast<double>(d.reserved_mib) * kMiB);
      if (!d.used_bytes) continue;
      m.Get(metric::kCopyMemoryUsedBytes, l).Set(static_cast<double>(*d.used_bytes));
      used[d.device_id] += static_cast<double>(*d.used_bytes);
    }
  }
  // Copies that are gone take their buffers series with them.
  m.Remove(metric::kCopyMemoryBuffersBytes, {});
  for (const auto& [id, s] : copies_) {
    if (s.buffers_bytes) {
      m.Get(metric::kCopyMemoryBuffersBytes, {{"component", s.component}, {"copy", id}})
          .Set(static_cast<double>(*s.buffers_bytes));
    }
  }
  m.Remove(metric::kDeviceMemoryDriverUsedBytes, {});
  for (const Device& d : inventory_.devices) {
    Labels l = {{"device", d.id}, {"virtual", d.is_virtual() ? "true" : "false"}};
    m.Get(metric::kDeviceMemoryUsedBytes, l).Set(used[d.id]);
    if (auto it = driver_used_.find(d.id); it != driver_used_.end()) {
      m.Get(metric::kDeviceMemoryDriverUsedBytes, l).Set(static_cast<double>(it->second));
    }
  }
}

json MemoryMonitor::CopyJson(const std::string& copy_id,
                             const policy::Assignment& assignment) const {
  auto it = copies_.find(copy_id);
  json devices = json::array();
  int64_t reserved = 0;
  std::optional<int64_t> used;
  bool over = false;
  std::optional<int64_t> buffers;
  for (size_t i = 0; i < assignment.devices.size(); ++i) {
    const policy::DeviceReservation& r = assignment.devices[i];
    std::optional<int64_t> u;
    if (it != copies_.end() && i < it->second.use.devices.size() &&
        it->second.use.devices[i].device_id == r.device_id) {
      u = it->second.use.devices[i].used_bytes;
    }
    if (u) used = used.value_or(0) + *u;
    reserved += r.memory_mib;
    devices.push_back({{"device", r.device_id},
                       {"reserved_mib", r.memory_mib},
                       {"process_overhead_mib", r.process_overhead_mib},
                       {"used_mib", MibOrNull(u)}});
  }
  if (it != copies_.end()) {
    over = it->second.over;
    buffers = it->second.buffers_bytes;
  }
  return {{"reserved_mib", reserved},
          {"used_mib", MibOrNull(used)},
          {"buffers_mib", MibOrNull(buffers)},
          {"over_reservation", over},
          {"devices", devices}};
}

json MemoryMonitor::DeviceJson(const Device& device) const {
  json out = json::object();
  out["process_overhead_mib"] = device.process_overhead_mib;
  if (auto o = options_.overheads.find(device.id); o != options_.overheads.end()) {
    out["process_overhead_source"] = o->second.source;
    out["process_overhead_detail"] = o->second.detail;
  }
  json copies = json::array();
  std::optional<int64_t> used;
  for (const auto& [id, s] : copies_) {
    for (const agent::DeviceMemoryUse& d : s.use.devices) {
      if (d.device_id != device.id) continue;
      if (d.used_bytes) used = used.value_or(0) + *d.used_bytes;
      copies.push_back({{"id", id},
                        {"component", s.component},
                        {"reserved_memory_mib", d.reserved_mib},
                        {"process_overhead_mib", d.overhead_mib},
                        {"used_memory_mib", MibOrNull(d.used_bytes)},
                        {"over_reservation", d.over()}});
    }
  }
  out["used_memory_mib"] = MibOrNull(used);
  auto driver = driver_used_.find(device.id);
  out["driver_used_memory_mib"] =
      driver == driver_used_.end() ? json(nullptr) : json(driver->second >> 20);
  out["copies"] = copies;
  return out;
}

}  // namespace cohost::control
