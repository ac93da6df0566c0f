// Autoscale: the pure decision of how many copies one inference component should run.
//
// Pure: a function of the component's scaling policy and copy bounds, what the autoscaler decided
// before (ScalingState), one observation of the component's traffic, and `now`. No I/O, no clock,
// no threads; the live autoscaler (src/control/autoscaler.h) and the simulator call the same code,
// and tests pass explicit times.
//
// The metric (ScalingMetric), from one observation:
//   concurrent_requests_per_copy     (in_flight + waiting) / copies
//   invocations_per_copy_per_minute  invocations_per_minute / copies
//   queue_depth                      (waiting + queued_in_copies) / copies  (not yet in a slot)
// where `copies` is the current desired count (at least 1 for the division).
//
// Rules:
//   1. Recommendation. Target tracking: ceil(total / target), e.g. 9 concurrent requests at a
//      target of 4 per copy -> 3 copies. Step scaling: the step whose [lower, upper) holds the
//      per-copy metric adds its adjustment to the current count; no step matches -> no change.
//      The recommendation is clamped to [max(min, 1), max]: going to zero is rule 4's alone.
//   2. Scale-out (recommendation above current) happens at once unless within
//      scale_out_cooldown_s of the last scale-out. From zero copies with requests waiting, the
//      cooldown does not apply (a held request must not wait for it).
//   3. Scale-in uses the highest recommendation within the last stabilization_window_s (so a
//      short lull does not drop copies a returning burst needs), and happens only when
//      scale_in_cooldown_s has passed since the last scaling of either direction (or since the
//      count was set from outside: the first decision, a user's copy count).
//   4. Scale to zero: with copies.min == 0, a component with nothing in flight or waiting and no
//      request for scale_to_zero_after_s goes to zero copies (no cooldown or window applies).
//      At zero copies, any waiting request scales it to the recommendation (at least 1).
//   5. The current count is first clamped into [min, max] (a spec update may move the bounds);
//      that correction is itself a scaling, not subject to cooldowns.
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/component.h"

namespace cohost::policy {

using ScaleTime = std::chrono::steady_clock::time_point;

// One look at a component's traffic. The live autoscaler reads these from the metrics registry
// (src/core/metrics.h), the simulator from its own event queue.
struct ScaleObservation {
  double in_flight = 0;               // requests being served by copies, all copies together
  double waiting = 0;                 // requests held for a cold start (no copy has them yet)
  // Of `in_flight`, those a copy holds queued for a free slot (the runner's queue). Only the
  // queue_depth metric reads it.
  double queued_in_copies = 0;
  double invocations_per_minute = 0;  // requests that arrived over the last minute (a rate)
  // When the latest request arrived; empty if none ever did. Drives scale to zero.
  std::optional<ScaleTime> last_request_at;
};

// What the autoscaler remembers between decisions for one component. Start with the default
// (desired = -1 means "not decided yet": the first decision starts from copies.initial).
struct ScalingState {
  int desired = -1;
  std::optional<ScaleTime> last_scale_out_at;
  std::optional<ScaleTime> last_scale_in_at;
  // When the count was last set from outside the policy: the first decision (copies.initial),
  // or a user's explicit copy count (SetDesiredCopies). Counts as a scaling for the scale-in
  // cooldown, so a count a user just set is not undone at once.
  std::optional<ScaleTime> set_at;
  // Whenever the component was last seen busy (in flight or waiting > 0), or first decided on.
  std::optional<ScaleTime> last_busy_at;
  // Recommendations within the stabilization window, oldest first.
  struct Recommendation {
    ScaleTime at;
    int copies = 0;
  };
  std::vector<Recommendation> recent;
};

enum class ScaleDirection {
  kNone,  // keep the current count
  kOut,   // more copies
  kIn,    // fewer copies (drain the least loaded)
};

const char* ScaleDirectionName(ScaleDirection direction);

struct ScaleDecision {
  int desired = 0;  // the copy count to run, within [min, max]
  ScaleDirection direction = ScaleDirection::kNone;
  int recommended = 0;   // rule 1's recommendation before cooldowns and the window
  double metric = 0;     // the per-copy metric value that was used
  std::string reason;    // human-readable, for events and logs
  ScalingState next;     // pass to the next call
};

// Decides the copy count. `bounds` are the component's copies (initial, min, max); the policy
// and bounds are assumed valid (ParseInferenceComponent checked them).
ScaleDecision DecideScale(const ScalingPolicy& policy, const CopyBounds& bounds,
                          const ScalingState& state, const ScaleObservation& observation,
                          ScaleTime now);

// A copy count set from outside (a user's update of copies.initial, an eviction): the next
// decisions start from `copies`, and the scale-in cooldown counts from `now`.
ScalingState SetDesiredCopies(ScalingState state, int copies, ScaleTime now);

// The per-copy metric value for `copies` copies (rule "metric" above); copies < 1 counts as 1.
double MetricPerCopy(ScalingMetric metric, const ScaleObservation& observation, int copies);

}  // namespace cohost::policy
