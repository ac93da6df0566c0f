// ScaleDecider: how many copies one component should have, asked at every autoscaler tick.
//
// The simulator must drive the live autoscaling policy (DESIGN.md decision 1). This interface is
// the seam: MakeLiveScaleDecider() adapts policy/autoscale.h when it is in the tree; until then
// it returns the target-tracking stand-in below, and the report names which one ran.
// Thread safety: a decider is used by one simulation thread.
#pragma once

#include <memory>
#include <string>

#include "sim/scenario.h"

namespace cohost::sim {

struct ScaleInput {
  double now_s = 0;
  int current_copies = 0;        // desired copies now (loading + ready)
  int ready_copies = 0;
  double concurrency = 0;        // mean requests in flight + queued + held over the last tick
  int held = 0;                  // requests held for this component now
  double last_request_s = -1;    // arrival of the latest request, -1 if none yet
  double last_scale_out_s = -1e18;
  double last_scale_in_s = -1e18;
  const ScalingSettings* settings = nullptr;
};

class ScaleDecider {
 public:
  virtual ~ScaleDecider() = default;
  // The desired copy count, within [settings.min_copies, settings.max_copies].
  virtual int Decide(const ScaleInput& input) = 0;
  virtual std::string Name() const = 0;
};

// Target tracking on concurrent requests per copy with cooldowns and scale to zero after idle;
// wakes a component at zero copies as soon as a request is held.
std::unique_ptr<ScaleDecider> MakeTargetTrackingDecider();

// The live policy's decider (policy/autoscale.h) when present, else the stand-in.
std::unique_ptr<ScaleDecider> MakeLiveScaleDecider();

}  // namespace cohost::sim
