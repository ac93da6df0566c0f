#include "policy/placement.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace cohost::policy {

int64_t DeviceLoad::memory_free_mib() const {
  return std::max<int64_t>(0, memory_mib - memory_used_mib);
}

int64_t DeviceLoad::share_free_milli() const {
  if (kind == DeviceKind::kCpu) return 0;
  return std::max<int64_t>(0, kMilliPerUnit - share_used_milli);
}

int64_t NodeSnapshot::cpu_free_milli() const {
  return std::max<int64_t>(0, cpu_milli - cpu_used_milli);
}

const DeviceLoad* NodeSnapshot::Find(std::string_view id) const {
  for (const DeviceLoad& d : devices) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

DeviceLoad* NodeSnapshot::Find(std::string_view id) {
  return const_cast<DeviceLoad*>(static_cast<const NodeSnapshot*>(this)->Find(id));
}

NodeSnapshot SnapshotFromInventory(const DeviceInventory& inventory) {
  NodeSnapshot snapshot;
  for (const Device& d : inventory.devices) {
    snapshot.devices.push_back(DeviceLoad{
        .id = d.id,
        .kind = d.kind,
        .link_group = d.link_group,
        .memory_mib = d.memory_mib,
        .process_overhead_mib = d.process_overhead_mib});
  }
  snapshot.cpu_milli = ToMilli(inventory.cpu_cores);
  return snapshot;
}

std::vector<std::string> Assignment::device_ids() const {
  std::vector<std::string> ids;
  for (const DeviceReservation& r : devices) ids.push_back(r.device_id);
  return ids;
}

int64_t Assignment::buffers_limit_mib() const {
  int64_t total = 0;
  for (const DeviceReservation& r : devices) total += r.memory_mib - r.process_overhead_mib;
  return total;
}

const char* PlacementResourceName(PlacementResource resource) {
  switch (resource) {
    case PlacementResource::kDeviceCount:
      return "device_count";
    case PlacementResource::kAcceleratorShare:
      return "accelerator_share";
    case PlacementResource::kMemory:
      return "memory";
    case PlacementResource::kCpu:
      return "cpu";
    case PlacementResource::kTenancy:
      return "tenancy";
  }
  return "unknown";
}

Status PlacementRefusal::ToStatus() const {
  return Status(StatusCode::kResourceExhausted, message);
}

namespace {

// What the copy needs, per device, in placement's integer units.
struct Demand {
  bool host = false;   // goes on the host device (CPU-only copy) rather than accelerators
  int count = 0;       // devices needed: k, 1, or 0 (CPU-only copy on a snapshot without a host)
  int64_t share = 0;   // milli-accelerators on each device
  int64_t memory = 0;  // MiB on each device, before the device's per-process overhead
  int64_t cpu = 0;     // milli-cores on the node
};

Demand MakeDemand(const NodeSnapshot& snapshot, const Requirements& r) {
  Demand d;
  d.host = r.cpu_only();
  d.share = r.share_milli_per_device();
  d.memory = r.memory_mib;
  d.cpu = r.cpu_milli();
  if (!d.host) {
    d.count = r.device_count();
  } else {
    bool has_host = std::any_of(snapshot.devices.begin(), snapshot.devices.end(),
                                [](const DeviceLoad& x) { return x.kind == DeviceKind::kCpu; });
    d.count = has_host ? 1 : 0;
  }
  return d;
}

// Indices of devices of the kind the copy goes on, in snapshot order.
std::vector<size_t> DevicesOfKind(const NodeSnapshot& snapshot, const Demand& demand) {
  std::vector<size_t> out;
  for (size_t i = 0; i < snapshot.devices.size(); ++i) {
    if ((snapshot.devices[i].kind == DeviceKind::kCpu) == demand.host) out.push_back(i);
  }
  return out;
}

bool ShareFits(const DeviceLoad& d, const Demand& demand) {
  return d.share_free_milli() >= demand.share;
}

// What the copy reserves on `d`: its own memory plus the device's per-process overhead.
int64_t MemoryOn(const DeviceLoad& d, const Demand& demand) {
  return demand.memory + d.process_overhead_mib;
}

// Free memory on `d` left for the copy's own memory once its process overhead is counted (may be
// negative).
int64_t RoomFor(const DeviceLoad& d) { return d.memory_free_mib() - d.process_overhead_mib; }

bool Fits(const DeviceLoad& d, const Demand& demand) {
  return ShareFits(d, demand) && d.memory_free_mib() >= MemoryOn(d, demand);
}

// Sorts `indices` best first for `strategy`. binpack: fullest first (least free share, then least
// free memory); spread: emptiest first. stable_sort keeps snapshot order among equals.
void RankByStrategy(const NodeSnapshot& snapshot, PlacementStrategy strategy,
                    std::vector<size_t>* indices) {
  auto key = [&](size_t i) {
    const DeviceLoad& d = snapshot.devices[i];
    return std::make_pair(d.share_free_milli(), d.memory_free_mib());
  };
  std::stable_sort(indices->begin(), indices->end(), [&](size_t a, size_t b) {
    return strategy == PlacementStrategy::kBinpack ? key(a) < key(b) : key(b) < key(a);
  });
}

// From `ranked` fitting devices (best first), the `count` to use. With count > 1, one link group
// that holds the copy is preferred: binpack takes the group with the fewest fitting devices (it
// keeps larger groups whole for larger copies), spread the group with the most. Ties go to the
// group whose best device ranks first. Without such a group, the best `count` devices overall.
std::vector<size_t> ChooseDevices(const NodeSnapshot& snapshot, const std::vector<size_t>& ranked,
                                  int count, PlacementStrategy strategy) {
  const size_t k = static_cast<size_t>(count);
  if (count > 1) {
    std::vector<std::pair<std::string, std::vector<size_t>>> groups;  // first-seen order
    for (size_t i : ranked) {
      const std::string& g = snapshot.devices[i].link_group;
      if (g.empty()) continue;
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& entry) { return entry.first == g; });
      if (it == groups.end()) {
        groups.push_back({g, {}});
        it = groups.end() - 1;
      }
      it->second.push_back(i);
    }
    const std::vector<size_t>* best = nullptr;
    for (const auto& [name, members] : groups) {
      if (members.size() < k) continue;
      bool better = best == nullptr ||
                    (strategy == PlacementStrategy::kBinpack ? members.size() < best->size()
                                                             : members.size() > best->size());
      if (better) best = &members;
    }
    if (best != nullptr) return std::vector<size_t>(best->begin(), best->begin() + count);
  }
  return std::vector<size_t>(ranked.begin(), ranked.begin() + count);
}

std::string Mib(int64_t mib) { return std::to_string(mib) + " MiB"; }

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "gpu0: 4096 MiB free, gpu1: 0 MiB free", at most eight entries.
template <typename Describe>
std::string ListDevices(const NodeSnapshot& snapshot, const std::vector<size_t>& indices,
                        Describe describe) {
  constexpr size_t kMaxListed = 8;
  std::string out;
  for (size_t n = 0; n < indices.size() && n < kMaxListed; ++n) {
    if (!out.empty()) out += ", ";
    const DeviceLoad& d = snapshot.devices[indices[n]];
    out += d.id + ": " + describe(d);
  }
  if (indices.size() > kMaxListed) {
    out += ", and " + std::to_string(indices.size() - kMaxListed) + " more";
  }
  return out;
}

std::vector<std::string> Ids(const NodeSnapshot& snapshot, const std::vector<size_t>& indices) {
  std::vector<std::string> ids;
  for (size_t i : indices) ids.push_back(snapshot.devices[i].id);
  return ids;
}

PlacementRefusal RefuseDeviceCount(const NodeSnapshot& snapshot, const Demand& demand,
                                   const std::vector<size_t>& of_kind) {
  PlacementRefusal r;
  r.resource = PlacementResource::kDeviceCount;
  r.needed = demand.count;
  r.available = static_cast<int64_t>(of_kind.size());
  r.missing = r.needed - r.available;
  r.devices = Ids(snapshot, of_kind);
  r.message = "not enough devices: the copy needs " +
              Plural(demand.count, "accelerator device", "accelerator devices") +
              " but the node has " +
              (of_kind.empty() ? std::string("none") : std::to_string(of_kind.size()));
  if (!of_kind.empty()) {
    std::string ids;
    for (const std::string& id : r.devices) ids += (ids.empty() ? "" : ", ") + id;
    r.message += " (" + ids + ")";
  }
  return r;
}

PlacementRefusal RefuseShare(const NodeSnapshot& snapshot, const Demand& demand,
                             const std::vector<size_t>& of_kind,
                             const std::vector<size_t>& share_ok) {
  PlacementRefusal r;
  r.resource = PlacementResource::kAcceleratorShare;
  std::vector<size_t> lacking;
  for (size_t i : of_kind) {
    if (!ShareFits(snapshot.devices[i], demand)) lacking.push_back(i);
  }
  r.devices = Ids(snapshot, lacking);
  auto describe = [](const DeviceLoad& d) { return FormatMilli(d.share_free_milli()) + " free"; };
  if (demand.count == 1) {
    size_t best = of_kind.front();
    for (size_t i : of_kind) {
      if (snapshot.devices[i].share_free_milli() > snapshot.devices[best].share_free_milli()) {
        best = i;
      }
    }
    r.needed = demand.share;
    r.available = snapshot.devices[best].share_free_milli();
    r.missing = r.needed - r.available;
    r.message = "not enough accelerator share: the copy needs " + FormatMilli(demand.share) +
                " of one device; the most free on any device is " + FormatMilli(r.available) +
                " (" + snapshot.devices[best].id + "), short by " + FormatMilli(r.missing) + " [" +
                ListDevices(snapshot, lacking, describe) + "]";
    return r;
  }
  r.needed = demand.count * kMilliPerUnit;
  r.available = static_cast<int64_t>(share_ok.size()) * kMilliPerUnit;
  r.missing = r.needed - r.available;
  r.message = "not enough unused accelerator devices: the copy needs " +
              Plural(demand.count, "whole device", "whole devices") +
              " with no other copy on them; " + std::to_string(share_ok.size()) +
              (share_ok.size() == 1 ? " is" : " are") + " unused" +
              (share_ok.empty() ? "" : " (" + ListDevices(snapshot, share_ok, describe) + ")") +
              ", short by " + Plural(r.missing / kMilliPerUnit, "device", "devices") +
              " [in use: " + ListDevices(snapshot, lacking, describe) + "]";
  return r;
}

// " (150 MiB + 500 MiB per-process overhead)" when the device has an overhead, else "".
std::string OverheadNote(const DeviceLoad& d, const Demand& demand) {
  if (d.process_overhead_mib == 0) return "";
  return " (" + Mib(demand.memory) + " + " + Mib(d.process_overhead_mib) + " per-process overhead)";
}

PlacementRefusal RefuseMemory(const NodeSnapshot& snapshot, const Demand& demand,
                              const std::vector<size_t>& share_ok) {
  PlacementRefusal r;
  r.resource = PlacementResource::kMemory;
  std::vector<size_t> lacking;
  for (size_t i : share_ok) {
    if (!Fits(snapshot.devices[i], demand)) lacking.push_back(i);
  }
  // The best the node offers is the device with the count-th most room for the copy's own
  // memory (free memory less the device's per-process overhead) among devices with the share.
  std::vector<size_t> by_room = share_ok;
  std::stable_sort(by_room.begin(), by_room.end(), [&](size_t a, size_t b) {
    return RoomFor(snapshot.devices[a]) > RoomFor(snapshot.devices[b]);
  });
  const DeviceLoad& ref = snapshot.devices[by_room[static_cast<size_t>(demand.count) - 1]];
  r.needed = MemoryOn(ref, demand);
  r.available = ref.memory_free_mib();
  r.missing = r.needed - r.available;
  r.devices = Ids(snapshot, lacking);
  const std::string needs = Mib(r.needed) + OverheadNote(ref, demand);
  const std::string listed = ListDevices(
      snapshot, lacking, [](const DeviceLoad& d) { return Mib(d.memory_free_mib()) + " free"; });
  if (demand.host) {
    r.message = "not enough host memory: the copy needs " + needs +
                " of host memory; the most free is " + Mib(r.available) + ", short by " +
                Mib(r.missing) + " [" + listed + "]";
  } else if (demand.count == 1) {
    r.message = "not enough device memory: the copy needs " + needs +
                " on one device; the most free on a device with enough accelerator share is " +
                Mib(r.available) + ", short by " + Mib(r.missing) + " [" + listed + "]";
  } else {
    r.message = "not enough device memory: the copy needs " + needs + " on each of " +
                std::to_string(demand.count) + " unused devices; the best " +
                std::to_string(demand.count) + " offer " + Mib(r.available) +
                " on the smallest, short by " + Mib(r.missing) + " [" + listed + "]";
  }
  return r;
}

PlacementRefusal RefuseCpu(const NodeSnapshot& snapshot, const Demand& demand) {
  PlacementRefusal r;
  r.resource = PlacementResource::kCpu;
  r.needed = demand.cpu;
  r.available = snapshot.cpu_free_milli();
  r.missing = r.needed - r.available;
  r.message = "not enough CPU: the copy needs " + FormatMilli(demand.cpu) + " cores; " +
              FormatMilli(r.available) + " of the node's " + FormatMilli(snapshot.cpu_milli) +
              " are free, short by " + FormatMilli(r.missing) + " cores";
  return r;
}

// "device gpu1 is dedicated to endpoint \"big\"; device gpu2 ...", at most eight entries.
std::string ListBars(const NodeSnapshot& snapshot, const Tenancy& tenancy,
                     const std::vector<size_t>& barred) {
  constexpr size_t kMaxListed = 8;
  std::string out;
  for (size_t n = 0; n < barred.size() && n < kMaxListed; ++n) {
    const DeviceLoad& d = snapshot.devices[barred[n]];
    out += (out.empty() ? "" : "; ") + d.tenants.BarFor(tenancy, d.id);
  }
  if (barred.size() > kMaxListed) {
    out += "; and " + std::to_string(barred.size() - kMaxListed) + " more";
  }
  return out;
}

std::string EndpointOf(const Tenancy& tenancy) {
  const std::string kind = tenancy.dedicated ? "dedicated" : "shared";
  if (tenancy.endpoint.empty()) return "the copy's " + kind + " endpoint";
  return kind + " endpoint \"" + tenancy.endpoint + "\"";
}

// The copy's endpoint may use fewer devices than it needs (`allowed` < count), or the copy fits
// now only by using devices it may not use (`fitting` allowed devices fit it).
PlacementRefusal RefuseTenancy(const NodeSnapshot& snapshot, const Demand& demand,
                               const Tenancy& tenancy, const std::vector<size_t>& allowed,
                               const std::vector<size_t>& barred, size_t fitting) {
  PlacementRefusal r;
  r.resource = PlacementResource::kTenancy;
  r.needed = demand.count;
  r.available = static_cast<int64_t>(fitting);
  r.missing = r.needed - r.available;
  r.devices = Ids(snapshot, barred);
  const std::string bars = " [" + ListBars(snapshot, tenancy, barred) + "]";
  if (allowed.size() < static_cast<size_t>(demand.count)) {
    r.message = "not enough devices " + EndpointOf(tenancy) + " may use: the copy needs " +
                Plural(demand.count, "accelerator device", "accelerator devices") + "; " +
                std::to_string(allowed.size()) + " of the node's " +
                std::to_string(allowed.size() + barred.size()) + " are open to it" + bars;
  } else {
    r.message = "no room for the copy on the devices " + EndpointOf(tenancy) +
                " may use; it would fit only on devices of other endpoints" + bars;
  }
  return r;
}

Status CheckSnapshot(const NodeSnapshot& snapshot) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < snapshot.devices.size(); ++i) {
    if (!seen.insert(snapshot.devices[i].id).second) {
      return InvalidArgument("snapshot.devices[" + std::to_string(i) + "].id",
                             "duplicate device id \"" + snapshot.devices[i].id + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Assignment> PlaceCopy(const NodeSnapshot& snapshot, const Requirements& requirements,
                               const Tenancy& tenancy, PlacementStrategy strategy,
                               PlacementRefusal* refusal) {
  RETURN_IF_ERROR(requirements.Validate());
  RETURN_IF_ERROR(CheckSnapshot(snapshot));
  const Demand demand = MakeDemand(snapshot, requirements);
  const std::vector<size_t> of_kind = DevicesOfKind(snapshot, demand);
  // Tenancy bars accelerator devices only; the host device is everyone's.
  std::vector<size_t> allowed, barred;
  for (size_t i : of_kind) {
    const bool admits = demand.host || snapshot.devices[i].tenants.Admits(tenancy);
    (admits ? allowed : barred).push_back(i);
  }

  // Checked from the most lasting shortage to the most passing one: a node without enough
  // devices never fits; devices of other endpoints stay theirs while those exist; share and
  // memory free up as copies stop; CPU is node-wide.
  std::optional<PlacementRefusal> refused;
  std::vector<size_t> share_ok, fitting;
  for (size_t i : allowed) {
    if (ShareFits(snapshot.devices[i], demand)) share_ok.push_back(i);
    if (Fits(snapshot.devices[i], demand)) fitting.push_back(i);
  }
  const size_t fitting_barred = static_cast<size_t>(std::count_if(
      barred.begin(), barred.end(), [&](size_t i) { return Fits(snapshot.devices[i], demand); }));
  const size_t k = static_cast<size_t>(demand.count);
  if (of_kind.size() < k) {
    refused = RefuseDeviceCount(snapshot, demand, of_kind);
  } else if (allowed.size() < k || (fitting.size() < k && fitting.size() + fitting_barred >= k)) {
    refused = RefuseTenancy(snapshot, demand, tenancy, allowed, barred, fitting.size());
  } else if (share_ok.size() < k) {
    refused = RefuseShare(snapshot, demand, allowed, share_ok);
  } else if (fitting.size() < k) {
    refused = RefuseMemory(snapshot, demand, share_ok);
  } else if (demand.cpu > snapshot.cpu_free_milli()) {
    refused = RefuseCpu(snapshot, demand);
  }
  if (refused.has_value()) {
    if (refused->resource != PlacementResource::kTenancy && !barred.empty()) {
      refused->message += " (not counted: " + ListBars(snapshot, tenancy, barred) + ")";
    }
    Status status = refused->ToStatus();
    if (refusal != nullptr) *refusal = std::move(*refused);
    return status;
  }

  RankByStrategy(snapshot, strategy, &fitting);
  if (tenancy.dedicated) {  // its own devices before claiming another
    std::stable_partition(fitting.begin(), fitting.end(), [&](size_t i) {
      return snapshot.devices[i].tenants.owner == tenancy.endpoint;
    });
  }
  Assignment assignment;
  assignment.cpu_milli = demand.cpu;
  assignment.tenancy = tenancy;
  for (size_t i : ChooseDevices(snapshot, fitting, demand.count, strategy)) {
    const DeviceLoad& d = snapshot.devices[i];
    assignment.devices.push_back(
        {d.id, MemoryOn(d, demand), demand.share, d.process_overhead_mib});
  }
  return assignment;
}

StatusOr<Assignment> PlaceCopy(const NodeSnapshot& snapshot, const Requirements& requirements,
                               PlacementStrategy strategy, PlacementRefusal* refusal) {
  return PlaceCopy(snapshot, requirements, Tenancy{}, strategy, refusal);
}

namespace {

// Per-device totals of an assignment (a device named twice counts twice).
StatusOr<std::map<std::string, std::pair<int64_t, int64_t>>> Totals(const Assignment& a,
                                                                    const NodeSnapshot& snapshot) {
  std::map<std::string, std::pair<int64_t, int64_t>> totals;  // id -> (memory, share)
  if (a.cpu_milli < 0) return InvalidArgument("assignment.cpu_milli", "must be >= 0");
  for (size_t i = 0; i < a.devices.size(); ++i) {
    const DeviceReservation& r = a.devices[i];
    if (r.memory_mib < 0 || r.share_milli < 0) {
      return InvalidArgument("assignment.devices[" + std::to_string(i) + "]",
                             "memory and share must be >= 0");
    }
    if (snapshot.Find(r.device_id) == nullptr) {
      return NotFound("device \"" + r.device_id + "\" is not in the snapshot");
    }
    auto& [memory, share] = totals[r.device_id];
    memory += r.memory_mib;
    share += r.share_milli;
  }
  return totals;
}

Status FailedPrecondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}

}  // namespace

Status ApplyAssignment(const Assignment& assignment, NodeSnapshot* snapshot) {
  ASSIGN_OR_RETURN(auto totals, Totals(assignment, *snapshot));
  for (const auto& [id, amounts] : totals) {
    const DeviceLoad& d = *snapshot->Find(id);
    const int64_t share_cap = d.kind == DeviceKind::kCpu ? 0 : kMilliPerUnit;
    if (d.memory_used_mib + amounts.first > d.memory_mib) {
      return FailedPrecondition("applying the assignment would over-commit memory on " + id + ": " +
                                Mib(d.memory_used_mib) + " used + " + Mib(amounts.first) + " > " +
                                Mib(d.memory_mib));
    }
    if (d.kind != DeviceKind::kCpu && !d.tenants.Admits(assignment.tenancy)) {
      return FailedPrecondition("applying the assignment would put a copy of " +
                                EndpointOf(assignment.tenancy) + " where it may not go: " +
                                d.tenants.BarFor(assignment.tenancy, id));
    }
    if (d.share_used_milli + amounts.second > share_cap) {
      return FailedPrecondition("applying the assignment would over-commit accelerator share on " +
                                id + ": " + FormatMilli(d.share_used_milli) + " used + " +
                                FormatMilli(amounts.second) + " > " + FormatMilli(share_cap));
    }
  }
  if (snapshot->cpu_used_milli + assignment.cpu_milli > snapshot->cpu_milli) {
    return FailedPrecondition(
        "applying the assignment would over-commit CPU: " + FormatMilli(snapshot->cpu_used_milli) +
        " used + " + FormatMilli(assignment.cpu_milli) + " > " + FormatMilli(snapshot->cpu_milli) +
        " cores");
  }
  for (const auto& [id, amounts] : totals) {
    DeviceLoad& d = *snapshot->Find(id);
    d.memory_used_mib += amounts.first;
    d.share_used_milli += amounts.second;
    if (d.kind != DeviceKind::kCpu) d.tenants.Add(assignment.tenancy);
  }
  snapshot->cpu_used_milli += assignment.cpu_milli;
  return Status::Ok();
}

Status ReleaseAssignment(const Assignment& assignment, NodeSnapshot* snapshot) {
  ASSIGN_OR_RETURN(auto totals, Totals(assignment, *snapshot));
  for (const auto& [id, amounts] : totals) {
    const DeviceLoad& d = *snapshot->Find(id);
    if (d.memory_used_mib < amounts.first || d.share_used_milli < amounts.second) {
      return FailedPrecondition("releasing the assignment would free more than is reserved on " +
                                id + ": " + Mib(d.memory_used_mib) + " and " +
                                FormatMilli(d.share_used_milli) + " reserved");
    }
  }
  if (snapshot->cpu_used_milli < assignment.cpu_milli) {
    return FailedPrecondition("releasing the assignment would free more CPU than is reserved: " +
                              FormatMilli(snapshot->cpu_used_milli) + " cores reserved");
  }
  for (const auto& [id, amounts] : totals) {
    DeviceLoad& d = *snapshot->Find(id);
    d.memory_used_mib -= amounts.first;
    d.share_used_milli -= amounts.second;
    // A snapshot built with reservations but no tenants (e.g. by hand) has nothing to forget.
    if (d.kind != DeviceKind::kCpu) (void)d.tenants.Remove(assignment.tenancy);
  }
  snapshot->cpu_used_milli -= assignment.cpu_milli;
  return Status::Ok();
}

}  // namespace cohost::policy
