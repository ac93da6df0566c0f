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
  double in_flight = 0;          // requests in copies' slots
  double waiting = 0;            // requests queued for a slot or held for a cold start
  double invocations_per_minute = 0;
  double last_request_s = -1;    // arrival of the latest request, -1 if none yet
};

class ScaleDecider {
 public:
  virtual ~ScaleDecider() = default;
  // The desired copy count, within the model's [min, max] (0 only with min 0).
  virtual int Decide(const ScaleInput& input) = 0;
  virtual std::string Name() const = 0;
};

// policy::DecideScale with the model's scaling settings (target tracking on concurrent requests
// per copy, cooldowns, stabilization window, scale to and from zero).
std::unique_ptr<ScaleDecider> MakeLiveScaleDecider(const ModelSpec& model);

}  // namespace cohost::sim
