#include "policy/autoscale.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cohost::policy {
namespace {

using std::chrono::seconds;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

long long Secs(ScaleTime::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

const char* MetricUnit(ScalingMetric metric) {
  switch (metric) {
    case ScalingMetric::kConcurrentRequestsPerCopy: return "concurrent requests per copy";
    case ScalingMetric::kInvocationsPerCopyPerMinute: return "invocations per copy per minute";
    case ScalingMetric::kQueueDepth: return "waiting requests per copy";
  }
  return "";
}

// Rule 1: the recommendation before cooldowns and the window, clamped to [max(min, 1), max].
int Recommend(const ScalingPolicy& policy, const CopyBounds& bounds, int current, double metric,
              std::string* why) {
  int rec = current;
  if (policy.step_scaling()) {
    const ScalingStep* hit = nullptr;
    for (const ScalingStep& s : policy.steps)
      if (metric >= s.lower && metric < s.upper) hit = &s;
    if (hit != nullptr) {
      rec = current + hit->adjustment;
      *why = "step [" + Num(hit->lower) + ", " + Num(hit->upper) + ") adjusts " +
             (hit->adjustment > 0 ? "+" : "") + std::to_string(hit->adjustment);
    } else {
      *why = "no step matches";
    }
  } else {
    double total = metric * std::max(current, 1);
    // A little slack so that 8.0000001 / 4 does not become 3 copies.
    rec = static_cast<int>(std::ceil(total / policy.target - 1e-9));
    *why = "target " + Num(policy.target) + " per copy";
  }
  return std::clamp(rec, std::max(bounds.min, 1), bounds.max);
}

ScaleDecision Finish(ScaleDecision d, int desired, ScaleDirection dir, std::string reason,
                     ScaleTime now) {
  d.desired = desired;
  d.direction = dir;
  d.reason = std::move(reason);
  d.next.desired = desired;
  if (dir == ScaleDirection::kOut) d.next.last_scale_out_at = now;
  if (dir == ScaleDirection::kIn) d.next.last_scale_in_at = now;
  return d;
}

}  // namespace

const char* ScaleDirectionName(ScaleDirection direction) {
  switch (direction) {
    case ScaleDirection::kNone: return "none";
    case ScaleDirection::kOut: return "out";
    case ScaleDirection::kIn: return "in";
  }
  return "none";
}

ScalingState SetDesiredCopies(ScalingState state, int copies, ScaleTime now) {
  state.desired = copies;
  state.set_at = now;
  state.recent.clear();
  return state;
}

double MetricPerCopy(ScalingMetric metric, const ScaleObservation& o, int copies) {
  double n = std::max(copies, 1);
  switch (metric) {
    case ScalingMetric::kConcurrentRequestsPerCopy: return (o.in_flight + o.waiting) / n;
    case ScalingMetric::kInvocationsPerCopyPerMinute: return o.invocations_per_minute / n;
    case ScalingMetric::kQueueDepth: return (o.waiting + o.queued_in_copies) / n;
  }
  return 0;
}

ScaleDecision DecideScale(const ScalingPolicy& policy, const CopyBounds& bounds,
                          const ScalingState& state, const ScaleObservation& obs, ScaleTime now) {
  ScaleDecision d;
  d.next = state;
  ScalingState& next = d.next;
  const int current = state.desired < 0 ? bounds.initial : state.desired;
  const bool busy = obs.in_flight > 0 || obs.waiting > 0;
  if (busy || !next.last_busy_at) next.last_busy_at = now;
  if (state.desired < 0) next.set_at = now;

  // Keep the window's recommendations only.
  const ScaleTime window_start = now - seconds(policy.stabilization_window_s);
  std::erase_if(next.recent, [&](const ScalingState::Recommendation& r) { return r.at < window_start; });

  d.metric = MetricPerCopy(policy.metric, obs, current);
  std::string why;
  const int rec = Recommend(policy, bounds, current, d.metric, &why);
  d.recommended = rec;
  next.recent.push_back({now, rec});
  const std::string observed = Num(d.metric) + " " + MetricUnit(policy.metric) + " at " +
                               std::to_string(current) + " copies, " + why;

  // Rule 5: bounds changed under us.
  if (current < bounds.min || current > bounds.max) {
    int to = std::clamp(current, bounds.min, bounds.max);
    return Finish(std::move(d), to, to > current ? ScaleDirection::kOut : ScaleDirection::kIn,
                  "copy bounds [" + std::to_string(bounds.min) + ", " + std::to_string(bounds.max) +
                      "]: " + std::to_string(current) + " -> " + std::to_string(to) + " copies",
                  now);
  }

  // Rule 4: from zero, and to zero.
  if (current == 0) {
    if (!busy) return Finish(std::move(d), 0, ScaleDirection::kNone, "idle at zero copies", now);
    return Finish(std::move(d), rec, ScaleDirection::kOut,
                  Num(obs.waiting + obs.in_flight) + " requests waiting at zero copies: scale from "
                  "zero to " + std::to_string(rec),
                  now);
  }
  if (bounds.min == 0 && !busy) {
    ScaleTime idle_since = *next.last_busy_at;
    if (obs.last_request_at) idle_since = std::max(idle_since, *obs.last_request_at);
    if (now - idle_since >= seconds(policy.scale_to_zero_after_s)) {
      next.recent.clear();
      return Finish(std::move(d), 0, ScaleDirection::kIn,
                    "idle for " + std::to_string(Secs(now - idle_since)) +
                        " s (scale_to_zero_after_s " + std::to_string(policy.scale_to_zero_after_s) +
                        "): scale to zero",
                    now);
    }
  }

  // Rule 2: scale-out.
  if (rec > current) {
    if (next.last_scale_out_at && now - *next.last_scale_out_at < seconds(policy.scale_out_cooldown_s)) {
      auto left = seconds(policy.scale_out_cooldown_s) - (now - *next.last_scale_out_at);
      return Finish(std::move(d), current, ScaleDirection::kNone,
                    observed + ": " + std::to_string(rec) + " copies after the scale-out cooldown (" +
                        std::to_string(Secs(left)) + " s left)",
                    now);
    }
    return Finish(std::move(d), rec, ScaleDirection::kOut,
                  observed + ": scale out " + std::to_string(current) + " -> " + std::to_string(rec),
                  now);
  }

  // Rule 3: scale-in, to the highest recommendation within the window.
  if (rec < current) {
    int stable = rec;
    for (const auto& r : next.recent) stable = std::max(stable, r.copies);
    if (stable >= current) {
      return Finish(std::move(d), current, ScaleDirection::kNone,
                    observed + ": " + std::to_string(rec) + " copies, but the stabilization window (" +
                        std::to_string(policy.stabilization_window_s) + " s) holds " +
                        std::to_string(current),
                    now);
    }
    std::optional<ScaleTime> last;
    for (const auto& t : {next.last_scale_out_at, next.last_scale_in_at, next.set_at})
      if (t && (!last || *t > *last)) last = t;
    if (last && now - *last < seconds(policy.scale_in_cooldown_s)) {
      auto left = seconds(policy.scale_in_cooldown_s) - (now - *last);
      return Finish(std::move(d), current, ScaleDirection::kNone,
                    observed + ": " + std::to_string(stable) + " copies after the scale-in cooldown (" +
                        std::to_string(Secs(left)) + " s left)",
                    now);
    }
    return Finish(std::move(d), stable, ScaleDirection::kIn,
                  observed + ": scale in " + std::to_string(current) + " -> " + std::to_string(stable),
                  now);
  }
  return Finish(std::move(d), current, ScaleDirection::kNone, observed + ": at target", now);
}

}  // namespace cohost::policy
