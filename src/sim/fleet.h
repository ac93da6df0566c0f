// Fleet: the simulated nodes of one strategy, where copies are placed, and what they cost.
//
// Each node keeps a policy::NodeSnapshot and every copy goes through the live placement code
// (PlaceCopy, then ApplyAssignment, which refuses any over-commit). Nodes start when a copy needs
// room and no running node has it, and stop when their last copy leaves (unless pinned); billing
// counts running time only, up to the end of the simulated period. Time-weighted sums give the
// mean memory and compute utilisation.
// Thread safety: none; owned by one simulation.
#pragma once

#include <cstdint>
#include <vector>

#include "core/requirements.h"
#include "core/status.h"
#include "policy/placement.h"
#include "sim/scenario.h"

namespace cohost::sim {

class Fleet {
 public:
  // `end_s`: billing and utilisation stop there.
  Fleet(const Scenario& scenario, double end_s);

  // Places one copy for `owner` (-1: the shared pool; a model index: that model's own nodes).
  // Tries running nodes of that owner first (first fit, binpack on the node), then starts the
  // cheapest node type that can hold it (per device for the shared pool, per node for a model's
  // own nodes), up to its max_nodes. Returns the node index, or -1 when nothing fits (not an
  // error). Internal when the placement code's assignment cannot be applied.
  StatusOr<int> Place(const Requirements& req, int owner, bool pin, double now,
                      policy::Assignment* assignment);
  // Running nodes of `owner`, in start order (candidates for eviction).
  std::vector<int> RunningNodes(int owner) const;
  const policy::NodeSnapshot& snapshot(int node) const { return nodes_[node].snapshot; }
  // Reserves an assignment planned elsewhere (eviction) on `node`; Internal if it over-commits.
  Status PlaceAt(int node, const policy::Assignment& assignment, double now);
  // Returns a copy's reservation; stops the node when it is empty and not pinned, unless
  // `keep_running` (eviction makes room for a copy that goes there next).
  Status Release(int node, const policy::Assignment& assignment, double now,
                 bool keep_running = false);

  // Integrates billing and utilisation up to `now` (call before any change).
  void Advance(double now);
  // Adds to the busy device share (a copy's share x its busy fraction changed by `delta`).
  void AddBusy(double delta) { busy_ += delta; }

  int running_nodes() const { return running_; }
  double device_hours() const { return device_seconds_ / 3600; }
  double cost() const { return cost_; }
  double memory_util_now() const { return total_mib_ > 0 ? reserved_mib_ / total_mib_ : 0; }
  double compute_util_now() const { return devices_ > 0 ? busy_ / devices_ : 0; }
  double mean_memory_util() const { return mem_total_int_ > 0 ? mem_used_int_ / mem_total_int_ : 0; }
  double mean_compute_util() const { return device_seconds_ > 0 ? busy_int_ / device_seconds_ : 0; }

 private:
  struct Node {
    int type = 0;
    int owner = -1;
    bool running = false;
    bool pinned = false;
    int copies = 0;
    policy::NodeSnapshot snapshot;
  };
  void Start(Node* n, bool pin);
  void Stop(Node* n);
  static int64_t Reserved(const policy::NodeSnapshot& s);

  const Scenario& scenario_;
  double end_s_;
  double last_t_ = 0;
  std::vector<Node> nodes_;
  std::vector<int> running_per_type_;
  int running_ = 0;
  double reserved_mib_ = 0, total_mib_ = 0, devices_ = 0, busy_ = 0, price_ = 0;
  double device_seconds_ = 0, cost_ = 0, mem_used_int_ = 0, mem_total_int_ = 0, busy_int_ = 0;
};

}  // namespace cohost::sim
