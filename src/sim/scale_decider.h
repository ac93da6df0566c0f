// ScaleDecider: how many copies one component should have, asked at every autoscaler tick.
//
// The simulator drives the live autoscaling policy (DESIGN.md decision 1): MakeLiveScaleDecider
// adapts policy/autoscale.h DecideScale, keeping its ScalingState between ticks exactly as the
// live autoscaler does. The interface stays so tests (and studies of other policies) can plug in
// another decider.
// Thread safety: a decider belongs to one component in one simulation thread.
#pragma once

#include <memory>
#include <string>

#include "sim/scenario.h"

namespace cohost::sim {

// One observation of a component at a tick (or when a request is held at zero copies).
struct ScaleInput {
  double now_s = 0;
  int current_copies = 0;        // desired copies now (loading + ready)
  double in_flight = 0;          // requests sent to copies (in a slot or queued there)
  double waiting = 0;            // requests held for a cold start
  double invocations_per_minute = 0;
  double last_request_s = -1;    // arrival of the latest request, -1 if none yet
};

class ScaleDecider {
 public:
  virtual ~ScaleDecider() = default;
  // The desired copy count, within the model's [min, max] (0 only with min 0). The decider keeps
  // its own desired count (as the live autoscaler does); the engine keeps trying to reach it when
  // placement refuses a copy.
  virtual int Decide(const ScaleInput& input) = 0;
  // One of the component's copies was evicted at `now_s`: the desired count drops by one.
  virtual void Evicted(double now_s) = 0;
  virtual std::string Name() const = 0;
};

// policy::DecideScale with the model's scaling settings (target tracking on concurrent requests
// per copy, cooldowns, stabilization window, scale to and from zero), starting from
// `initial_copies`; evictions go through policy::SetDesiredCopies, as in control/autoscaler.cc.
std::unique_ptr<ScaleDecider> MakeLiveScaleDecider(const ModelSpec& model, int initial_copies);

}  // namespace cohost::sim
