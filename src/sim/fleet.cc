#include "sim/fleet.h"

#include <algorithm>

namespace cohost::sim {

Fleet::Fleet(const Scenario& scenario, double end_s)
    : scenario_(scenario), end_s_(end_s), running_per_type_(scenario.node_types.size(), 0) {}

int64_t Fleet::Reserved(const policy::NodeSnapshot& s) {
  int64_t sum = 0;
  for (const auto& d : s.devices) sum += d.memory_used_mib;
  return sum;
}

void Fleet::Advance(double now) {
  double t = std::min(now, end_s_);
  if (t <= last_t_) return;
  double dt = t - last_t_;
  device_seconds_ += dt * devices_;
  cost_ += dt * price_ / 3600;
  mem_used_int_ += dt * reserved_mib_;
  mem_total_int_ += dt * total_mib_;
  busy_int_ += dt * busy_;
  last_t_ = t;
}

void Fleet::Start(Node* n, bool pin) {
  const NodeType& t = scenario_.node_types[n->type];
  n->running = true;
  n->pinned = pin;
  ++running_;
  ++running_per_type_[n->type];
  devices_ += t.devices;
  total_mib_ += static_cast<double>(t.devices) * t.device_memory_mib;
  price_ += t.price_per_hour;
}

void Fleet::Stop(Node* n) {
  const NodeType& t = scenario_.node_types[n->type];
  n->running = false;
  --running_;
  --running_per_type_[n->type];
  devices_ -= t.devices;
  total_mib_ -= static_cast<double>(t.devices) * t.device_memory_mib;
  price_ -= t.price_per_hour;
}

StatusOr<int> Fleet::Place(const Requirements& req, int owner, bool pin, double now,
                           policy::Assignment* assignment) {
  Advance(now);
  auto try_node = [&](int i) -> StatusOr<bool> {
    Node& n = nodes_[i];
    auto placed = policy::PlaceCopy(n.snapshot, req, PlacementStrategy::kBinpack);
    if (!placed.ok()) {
      if (placed.status().code() == StatusCode::kResourceExhausted) return false;
      return placed.status();
    }
    int64_t before = Reserved(n.snapshot);
    Status applied = policy::ApplyAssignment(*placed, &n.snapshot);
    if (!applied.ok()) return Internal("placement over-commit: " + applied.ToString());
    reserved_mib_ += static_cast<double>(Reserved(n.snapshot) - before);
    ++n.copies;
    *assignment = std::move(*placed);
    return true;
  };
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].running || nodes_[i].owner != owner) continue;
    ASSIGN_OR_RETURN(bool ok, try_node(static_cast<int>(i)));
    if (ok) return static_cast<int>(i);
  }
  // Start the cheapest type that holds the copy, reusing a stopped node of it when there is one.
  int best = -1;
  for (size_t t = 0; t < scenario_.node_types.size(); ++t) {
    const NodeType& nt = scenario_.node_types[t];
    if (running_per_type_[t] >= nt.max_nodes) continue;
    int need = req.device_count();
    if (need > nt.devices || req.memory_mib > nt.device_memory_mib ||
        req.cpu_milli() > ToMilli(nt.cpu_cores)) continue;
    // The shared pool fills its nodes, so the price per device counts; a model's own nodes
    // hold few copies, so the node's price does.
    auto price = [&](const NodeType& x) {
      return owner < 0 ? x.price_per_hour / x.devices : x.price_per_hour;
    };
    if (best < 0 || price(nt) < price(scenario_.node_types[best])) best = static_cast<int>(t);
  }
  if (best < 0) return -1;
  int index = -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].running && nodes_[i].type == best && nodes_[i].owner == owner) {
      index = static_cast<int>(i);
      break;
    }
  }
  if (index < 0) {
    const NodeType& nt = scenario_.node_types[best];
    Node n;
    n.type = best;
    n.owner = owner;
    for (int d = 0; d < nt.devices; ++d) {
      policy::DeviceLoad dl;
      dl.id = "gpu" + std::to_string(d);
      dl.kind = DeviceKind::kCuda;
      dl.memory_mib = nt.device_memory_mib;
      n.snapshot.devices.push_back(dl);
    }
    n.snapshot.cpu_milli = ToMilli(nt.cpu_cores);
    nodes_.push_back(std::move(n));
    index = static_cast<int>(nodes_.size()) - 1;
  }
  Start(&nodes_[index], pin);
  ASSIGN_OR_RETURN(bool ok, try_node(index));
  if (!ok) return Internal("a copy did not fit on an empty node of the type chosen for it");
  return index;
}

std::vector<int> Fleet::RunningNodes(int owner) const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].running && nodes_[i].owner == owner) out.push_back(static_cast<int>(i));
  }
  return out;
}

Status Fleet::PlaceAt(int node, const policy::Assignment& assignment, double now) {
  Advance(now);
  Node& n = nodes_[node];
  if (!n.running) return Internal("eviction placed a copy on a stopped node");
  int64_t before = Reserved(n.snapshot);
  Status applied = policy::ApplyAssignment(assignment, &n.snapshot);
  if (!applied.ok()) return Internal("eviction plan over-commits: " + applied.ToString());
  reserved_mib_ += static_cast<double>(Reserved(n.snapshot) - before);
  ++n.copies;
  return Status::Ok();
}

Status Fleet::Release(int node, const policy::Assignment& assignment, double now,
                      bool keep_running) {
  Advance(now);
  Node& n = nodes_[node];
  int64_t before = Reserved(n.snapshot);
  RETURN_IF_ERROR(policy::ReleaseAssignment(assignment, &n.snapshot));
  reserved_mib_ -= static_cast<double>(before - Reserved(n.snapshot));
  if (--n.copies == 0 && !n.pinned && !keep_running &&
      running_per_type_[n.type] > scenario_.node_types[n.type].min_nodes) {
    Stop(&n);
  }
  return Status::Ok();
}

}  // namespace cohost::sim
