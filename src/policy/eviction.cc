#include "policy/eviction.h"

#include <algorithm>
#include <map>

namespace cohost::policy {
namespace {

bool Fits(const NodeSnapshot& node, const Requirements& need, PlacementStrategy strategy,
          Assignment* out) {
  StatusOr<Assignment> a = PlaceCopy(node, need, strategy);
  if (!a.ok()) return false;
  if (out != nullptr) *out = *a;
  return true;
}

std::string Join(const std::vector<std::string>& ids) {
  std::string s;
  for (const std::string& id : ids) s += (s.empty() ? "" : ", ") + id;
  return s;
}

}  // namespace

EvictionPlan PlanEviction(const NodeSnapshot& node, const Requirements& need,
                          PlacementStrategy strategy, int requester_priority,
                          const std::vector<EvictionCandidate>& candidates) {
  EvictionPlan plan;
  if (Fits(node, need, strategy, &plan.assignment)) {
    plan.reason = "fits without evicting";
    return plan;
  }

  std::vector<const EvictionCandidate*> eligible;
  for (const EvictionCandidate& c : candidates) {
    if (c.priority < requester_priority && c.component_idle && c.in_flight == 0)
      eligible.push_back(&c);
  }
  std::sort(eligible.begin(), eligible.end(), [](const auto* a, const auto* b) {
    if (a->priority != b->priority) return a->priority < b->priority;
    if (a->in_flight != b->in_flight) return a->in_flight < b->in_flight;
    return a->copy_id < b->copy_id;
  });

  // Greedy: release candidates until the copy fits, keeping every component at its min.
  NodeSnapshot room = node;
  std::map<std::string, int> left;  // component -> copies it would keep
  std::vector<const EvictionCandidate*> chosen;
  bool fits = false;
  for (const EvictionCandidate* c : eligible) {
    auto [it, inserted] = left.try_emplace(c->component, c->component_copies);
    if (it->second - 1 < c->component_min) continue;
    if (!ReleaseAssignment(c->assignment, &room).ok()) continue;  // stale: not reserved here
    --it->second;
    chosen.push_back(c);
    if (Fits(room, need, strategy, nullptr)) {
      fits = true;
      break;
    }
  }
  if (!fits) {
    plan.assignment = {};
    plan.reason = eligible.empty()
                      ? "no idle copy of a lower-priority component to evict"
                      : "evicting every idle lower-priority copy above its min would not make room";
    return plan;
  }

  // Put back what the fit does not need, latest chosen first (the costliest to evict).
  for (size_t i = chosen.size(); i-- > 0;) {
    NodeSnapshot trial = room;
    if (!ApplyAssignment(chosen[i]->assignment, &trial).ok()) continue;
    if (Fits(trial, need, strategy, nullptr)) {
      room = std::move(trial);
      chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  Fits(room, need, strategy, &plan.assignment);
  std::vector<std::string> ids;
  for (const EvictionCandidate* c : chosen) {
    plan.evict.push_back(c->copy_id);
    ids.push_back(c->copy_id + " (" + c->component + ", priority " + std::to_string(c->priority) + ")");
  }
  plan.reason = "evicting idle " + Join(ids) + " to make room for a priority " +
                std::to_string(requester_priority) + " copy";
  return plan;
}

}  // namespace cohost::policy
