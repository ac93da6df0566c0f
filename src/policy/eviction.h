// Eviction: which copies of other components to stop so that a cold copy fits on a full node.
//
// Pure: a function of a node snapshot (what is reserved now), the cold copy's requirements and
// priority, and the copies that could go. No I/O, no clock, no threads; the live autoscaler and
// the simulator call the same code.
//
// Rules:
//   - Only copies of components with a priority strictly below the requester's may go, and only
//     while their component is idle (nothing in flight or waiting) and the copy itself serves
//     nothing: an accepted request is never dropped (DESIGN.md decision 4).
//   - A component never drops below its min copies (counting the copies already chosen).
//   - Candidates are taken lowest priority first, then least loaded (fewest in flight), then by
//     copy id for determinism, releasing each one's reservation until the cold copy fits
//     (PlaceCopy). Then any chosen copy the fit does not need is put back (latest first), so no
//     more copies go than needed.
//   - When even all eligible copies would not make room, the plan is empty (evict nothing): the
//     held request waits for capacity until its timeout instead.
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/requirements.h"
#include "policy/placement.h"

namespace cohost::policy {

// A running copy that eviction may consider.
struct EvictionCandidate {
  std::string copy_id;
  std::string component;
  int priority = 0;          // the component's priority, 0..100
  int in_flight = 0;         // requests the copy is serving
  bool component_idle = false;  // the component has nothing in flight or waiting anywhere
  int component_copies = 0;  // live (starting or ready) copies of the component, this one included
  int component_min = 0;     // the component's copies.min
  Assignment assignment;     // what the copy reserves (released if it is evicted)
};

struct EvictionPlan {
  std::vector<std::string> evict;  // copy ids, in the order chosen; empty: evict nothing
  Assignment assignment;           // where the cold copy goes once they are gone (if non-empty)
  std::string reason;              // human-readable: what goes and why, or why nothing can
};

// Plans room for one copy with `need` placed with `strategy`, for a component of priority
// `requester_priority`. If the copy already fits, the plan evicts nothing and carries its
// assignment. If it cannot fit even after evicting every eligible candidate, `evict` and
// `assignment` are empty and `reason` says so.
EvictionPlan PlanEviction(const NodeSnapshot& node, const Requirements& need,
                          PlacementStrategy strategy, int requester_priority,
                          const std::vector<EvictionCandidate>& candidates);

}  // namespace cohost::policy
