// Eviction: which copies of other components to stop so that a copy that fits nowhere fits on a
// full node.
//
// Pure: a function of a node snapshot (what is reserved now), the requester (its requirements,
// priority, and whether it is cold), the copies that could go, and `now`. No I/O, no clock, no
// threads; the live node controller and the simulator call the same code.
//
// Which copies may go (every rule must hold):
//   - The copy serves nothing (no request in flight) and its component holds no requests waiting
//     for a copy: an accepted request is never dropped (DESIGN.md decision 4), and a component
//     that is itself waiting for room is not robbed.
//   - Its component stays at or above its copies.min (counting the copies already chosen).
//   - Lower priority (strictly below the requester's): any such copy, at once. Priority wins, and
//     the evicted component cannot take the room back (it may evict only below its own priority).
//   - Equal priority ("reclaim"): only for a cold requester (requests held, no copy ready or
//     starting: a request is waiting for its first copy), and only a ready copy that has served
//     nothing for at least its own component's scaling.reclaim_after_idle_s. The idle time is
//     what keeps two components of equal priority from taking a device back and forth: a copy
//     that was just loaded for a request, or just served one, is not taken; and a component that
//     already has a copy (a scale-out) never takes room from an equal one, so reclaim only ever
//     brings a component from zero to one copy.
//   - Higher priority: never.
// Order: lowest priority first; within a priority, copies of components that keep another live
// copy first (taking them makes nobody cold), then the longest idle, then by copy id for
// determinism. Candidates are released in that order until the copy fits (PlaceCopy); then any
// chosen copy the fit does not need is put back (latest first), so no more copies go than needed.
// When even every eligible copy would not make room, the plan is empty (evict nothing): the held
// request waits for capacity until its timeout instead.
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/requirements.h"
#include "policy/placement.h"

namespace cohost::policy {

using EvictionTime = std::chrono::steady_clock::time_point;

// The component that needs room for one copy.
struct EvictionRequester {
  std::string component;
  int priority = 0;   // 0..100
  Requirements need;  // one copy's requirements
  PlacementStrategy strategy = PlacementStrategy::kBinpack;
  // Its endpoint: where its copy may go (policy/tenancy.h). Evicting copies of a dedicated
  // endpoint never makes room for another endpoint (the devices stay the owner's), so such
  // copies are never chosen for one; evicting shared copies can free a device for a dedicated one.
  Tenancy tenancy;
  // Requests are held for it and it has no copy ready or starting. Only a cold requester may
  // reclaim idle copies of equal priority.
  bool cold = false;
};

// A running copy that eviction may consider.
struct EvictionCandidate {
  std::string copy_id;
  std::string component;
  int priority = 0;           // the component's priority, 0..100
  int in_flight = 0;          // requests the copy is serving
  int component_waiting = 0;  // requests held for its component (waiting for a copy)
  int component_copies = 0;   // live (starting or ready) copies of the component, this one included
  int component_min = 0;      // the component's copies.min
  // Since when the copy has served nothing: when its last request ended, or when it became
  // ready. Empty while it is not ready (loading) or serves a request.
  std::optional<EvictionTime> idle_since;
  // Its component's scaling.reclaim_after_idle_s: how long it must have been idle before a cold
  // request of equal priority may reclaim it.
  std::chrono::seconds reclaim_after_idle{0};
  Assignment assignment;  // what the copy reserves (released if it is evicted)
};

// Why a copy may go.
enum class EvictionGround {
  kLowerPriority,  // its priority is below the requester's
  kIdleReclaim,    // equal priority, idle past reclaim_after_idle_s, for a cold requester
};

const char* EvictionGroundName(EvictionGround ground);  // "lower priority", "idle reclaim"

// One copy to stop.
struct Eviction {
  std::string copy_id;
  std::string component;
  EvictionGround ground = EvictionGround::kLowerPriority;
  // Human-readable, for the CopyEvicted event: whose copy, for whom, and why it may go, e.g.
  // "big-4 (big, priority 50) for lazy (priority 50, cold): equal priority, idle 12 s (reclaim
  // after 10 s); big keeps 3 copies (min 1)".
  std::string why;
};

struct EvictionPlan {
  std::vector<Eviction> evict;  // in the order chosen; empty: evict nothing
  Assignment assignment;        // where the requester's copy goes once they are gone (if non-empty)
  std::string reason;           // human-readable: what goes and why, or why nothing can
};

// Plans room for one copy of `requester` at `now`. If the copy already fits, the plan evicts
// nothing and carries its assignment. If it cannot fit even after evicting every eligible
// candidate, `evict` and `assignment` are empty and `reason` says why. Candidates of the
// requester's own component are ignored.
EvictionPlan PlanEviction(const NodeSnapshot& node, const EvictionRequester& requester,
                          const std::vector<EvictionCandidate>& candidates, EvictionTime now);

}  // namespace cohost::policy
