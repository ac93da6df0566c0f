#include "policy/reconcile.h"

#include <algorithm>
#include <map>

namespace cohost::policy {
namespace {

struct Tally {
  std::vector<const CopyView*> current_ready, current_starting, outdated_live;
  int current_failed = 0;
  int live() const {
    return static_cast<int>(current_ready.size() + current_starting.size() + outdated_live.size());
  }
};

Tally Count(const ComponentView& c, const std::vector<CopyView>& copies) {
  Tally t;
  for (const CopyView& cp : copies) {
    if (cp.component != c.spec.name) continue;
    const bool current = cp.spec_revision >= c.replacement_revision;
    switch (cp.phase) {
      case CopyPhase::kReady:
        (current ? t.current_ready : t.outdated_live).push_back(&cp);
        break;
      case CopyPhase::kStarting:
        (current ? t.current_starting : t.outdated_live).push_back(&cp);
        break;
      case CopyPhase::kFailed:
        if (current) ++t.current_failed;
        break;
      case CopyPhase::kDraining:
        break;
    }
  }
  return t;
}

// Starting copies (serving nothing yet) first, then by fewest requests in flight.
std::vector<const CopyView*> LeastLoadedFirst(std::vector<const CopyView*> copies) {
  std::stable_sort(copies.begin(), copies.end(), [](const CopyView* a, const CopyView* b) {
    auto key = [](const CopyView* c) { return c->phase == CopyPhase::kStarting ? -1 : c->in_flight; };
    return key(a) < key(b);
  });
  return copies;
}

}  // namespace

std::string ReplacementKey(const InferenceComponent& s) {
  return s.model_uri + "|" + std::to_string(s.compute.accelerators) + "|" +
         std::to_string(s.compute.memory_mib) + "|" + std::to_string(s.compute.cpu_cores) + "|" +
         std::to_string(s.startup.context_length) + "|" + std::to_string(s.startup.parallel) + "|" +
         s.startup.load_mode;
}

ReconcilePlan Reconcile(const std::vector<ComponentView>& components,
                        const std::vector<CopyView>& copies, NodeSnapshot node) {
  ReconcilePlan plan;
  std::map<std::string, const ComponentView*> by_name;
  for (const ComponentView& c : components) by_name[c.spec.name] = &c;
  for (const CopyView& cp : copies) {
    if (!by_name.count(cp.component) && cp.phase != CopyPhase::kDraining && cp.phase != CopyPhase::kFailed)
      plan.drain.push_back({cp.id, "component deleted"});
  }

  std::vector<const ComponentView*> order;
  for (const ComponentView& c : components) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const ComponentView* a, const ComponentView* b) {
    if (a->spec.priority != b->spec.priority) return a->spec.priority > b->spec.priority;
    return a->evicted_for && !b->evicted_for;
  });

  for (const ComponentView* c : order) {
    const Tally t = Count(*c, copies);
    const int desired = std::clamp(c->desired_copies, 0, c->spec.copies.max);
    const int ready = static_cast<int>(t.current_ready.size());
    const int starting = static_cast<int>(t.current_starting.size());
    const int outdated = static_cast<int>(t.outdated_live.size());
    // Old copies drain only as far as ready current copies keep `desired` copies serving.
    int drain_outdated = std::clamp(ready + outdated - desired, 0, outdated);
    for (const CopyView* cp : LeastLoadedFirst(t.outdated_live)) {
      if (drain_outdated-- <= 0) break;
      plan.drain.push_back({cp->id, "replaced"});
    }
    // Current copies beyond the desired count: starting ones first, then the least loaded.
    int extra = std::max(0, ready + starting - desired);
    std::vector<const CopyView*> surplus = t.current_starting;
    for (const CopyView* cp : LeastLoadedFirst(t.current_ready)) surplus.push_back(cp);
    for (const CopyView* cp : surplus) {
      if (extra-- <= 0) break;
      plan.drain.push_back({cp->id, "scale-in"});
    }
    // While old copies remain, replace one at a time; otherwise start what is missing.
    int missing = outdated > 0 ? (starting == 0 && ready < desired ? 1 : 0)
                               : desired - ready - starting;
    if (missing > 0 && t.current_failed >= std::max(1, desired)) {
      plan.unplaced.push_back({c->spec.name, Status(StatusCode::kFailedPrecondition,
                                                    std::to_string(t.current_failed) +
                                                        " copies failed; not starting more until the spec changes"),
                               /*copies_failed=*/true});
      continue;
    }
    for (int i = 0; i < missing; ++i) {
      auto a = PlaceCopy(node, c->spec.compute, Tenancy{c->spec.endpoint, c->dedicated},
                         c->spec.placement);
      if (!a.ok()) {
        plan.unplaced.push_back({c->spec.name, a.status()});
        break;
      }
      if (!ApplyAssignment(*a, &node).ok()) break;
      plan.start.push_back({c->spec.name, c->replacement_revision, *a});
    }
  }
  return plan;
}

}  // namespace cohost::policy
