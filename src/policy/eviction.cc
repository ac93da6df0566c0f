#include "policy/eviction.h"

#include <algorithm>
#include <map>

namespace cohost::policy {
namespace {

bool Fits(const NodeSnapshot& node, const EvictionRequester& r, Assignment* out) {
  StatusOr<Assignment> a = PlaceCopy(node, r.need, r.tenancy, r.strategy);
  if (!a.ok()) return false;
  if (out != nullptr) *out = *a;
  return true;
}

long long Secs(EvictionTime::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

bool IdleLongEnough(const EvictionCandidate& c, EvictionTime now) {
  return c.idle_since && now - *c.idle_since >= c.reclaim_after_idle;
}

// The ground on which `c` may go for `r`, or none (the rules in eviction.h, except copies.min,
// which depends on what else is chosen).
std::optional<EvictionGround> GroundFor(const EvictionRequester& r, const EvictionCandidate& c,
                                        EvictionTime now) {
  if (c.component == r.component || c.in_flight > 0 || c.component_waiting > 0) return std::nullopt;
  if (c.priority < r.priority) return EvictionGround::kLowerPriority;
  if (c.priority == r.priority && r.cold && IdleLongEnough(c, now))
    return EvictionGround::kIdleReclaim;
  return std::nullopt;
}

struct Eligible {
  const EvictionCandidate* candidate;
  EvictionGround ground;
};

// Lowest priority first; then copies whose component keeps another copy (nobody goes cold);
// then the longest idle (a copy with no idle time counts as idle the least); then by id.
bool TakenBefore(const Eligible& x, const Eligible& y) {
  const EvictionCandidate& a = *x.candidate;
  const EvictionCandidate& b = *y.candidate;
  if (a.priority != b.priority) return a.priority < b.priority;
  const bool a_alone = a.component_copies <= 1, b_alone = b.component_copies <= 1;
  if (a_alone != b_alone) return b_alone;
  if (a.idle_since != b.idle_since) {
    if (!a.idle_since || !b.idle_since) return a.idle_since.has_value();
    return *a.idle_since < *b.idle_since;
  }
  return a.copy_id < b.copy_id;
}

std::string Describe(const EvictionRequester& r, const Eligible& e, int keeps, EvictionTime now) {
  const EvictionCandidate& c = *e.candidate;
  std::string s = c.copy_id + " (" + c.component + ", priority " + std::to_string(c.priority) +
                  ") for " + r.component + " (priority " + std::to_string(r.priority) +
                  (r.cold ? ", cold" : "") + "): ";
  if (e.ground == EvictionGround::kLowerPriority) {
    s += "lower priority, serves nothing";
  } else {
    s += "equal priority, idle " + std::to_string(Secs(now - *c.idle_since)) +
         " s (reclaim after " + std::to_string(c.reclaim_after_idle.count()) + " s)";
  }
  return s + "; " + c.component + " keeps " + std::to_string(keeps) + " cop" +
         (keeps == 1 ? "y" : "ies") + " (min " + std::to_string(c.component_min) + ")";
}

// Why nothing may go, naming what came closest.
std::string Refusal(const EvictionRequester& r, const std::vector<EvictionCandidate>& candidates,
                    bool any_eligible, EvictionTime now) {
  if (any_eligible)
    return "evicting every eligible idle copy above its component's min would not make room";
  std::string why = "no copy may be evicted: none of lower priority is idle";
  std::optional<EvictionTime::duration> soonest;  // until an equal-priority copy may be reclaimed
  for (const EvictionCandidate& c : candidates) {
    if (c.component == r.component || c.priority != r.priority || !c.idle_since) continue;
    auto left = c.reclaim_after_idle - (now - *c.idle_since);
    if (left > EvictionTime::duration::zero() && (!soonest || left < *soonest)) soonest = left;
  }
  if (!r.cold)
    return why +
           "; equal-priority copies are reclaimed only for a component with requests held and no "
           "copy";
  if (soonest) {
    return why + "; the first idle copy of equal priority may be reclaimed in " +
           std::to_string(std::max<long long>(1, Secs(*soonest))) +
           " s (scaling.reclaim_after_idle_s)";
  }
  return why + " and none of equal priority has been idle for its scaling.reclaim_after_idle_s";
}

}  // namespace

const char* EvictionGroundName(EvictionGround ground) {
  return ground == EvictionGround::kLowerPriority ? "lower priority" : "idle reclaim";
}

EvictionPlan PlanEviction(const NodeSnapshot& node, const EvictionRequester& requester,
                          const std::vector<EvictionCandidate>& candidates, EvictionTime now) {
  EvictionPlan plan;
  if (Fits(node, requester, &plan.assignment)) {
    plan.reason = "fits without evicting";
    return plan;
  }

  std::vector<Eligible> eligible;
  for (const EvictionCandidate& c : candidates) {
    if (auto g = GroundFor(requester, c, now)) eligible.push_back({&c, *g});
  }
  std::sort(eligible.begin(), eligible.end(), TakenBefore);

  // Greedy: release candidates until the copy fits, keeping every component at its min.
  NodeSnapshot room = node;
  std::map<std::string, int> left;  // component -> copies it would keep
  std::vector<Eligible> chosen;
  bool fits = false;
  for (const Eligible& e : eligible) {
    const EvictionCandidate& c = *e.candidate;
    auto [it, inserted] = left.try_emplace(c.component, c.component_copies);
    if (it->second - 1 < c.component_min) continue;
    if (!ReleaseAssignment(c.assignment, &room).ok()) continue;  // stale: not reserved here
    --it->second;
    chosen.push_back(e);
    if (Fits(room, requester, nullptr)) {
      fits = true;
      break;
    }
  }
  if (!fits) {
    plan.assignment = {};
    plan.reason = Refusal(requester, candidates, !eligible.empty(), now);
    return plan;
  }

  // Put back what the fit does not need, latest chosen first (the costliest to evict).
  for (size_t i = chosen.size(); i-- > 0;) {
    NodeSnapshot trial = room;
    if (!ApplyAssignment(chosen[i].candidate->assignment, &trial).ok()) continue;
    if (Fits(trial, requester, nullptr)) {
      room = std::move(trial);
      left[chosen[i].candidate->component]++;
      chosen.erase(chosen.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  Fits(room, requester, &plan.assignment);
  for (const Eligible& e : chosen) {
    const EvictionCandidate& c = *e.candidate;
    plan.evict.push_back(
        {c.copy_id, c.component, e.ground, Describe(requester, e, left[c.component], now)});
    if (!plan.reason.empty()) plan.reason += "; ";
    plan.reason += plan.evict.back().why;
  }
  plan.reason = "evicting " + plan.reason;
  return plan;
}

}  // namespace cohost::policy
