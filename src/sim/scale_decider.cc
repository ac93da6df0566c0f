#include "sim/scale_decider.h"

#include <algorithm>
#include <cmath>

namespace cohost::sim {
namespace {

class TargetTracking : public ScaleDecider {
 public:
  int Decide(const ScaleInput& in) override {
    const ScalingSettings& s = *in.settings;
    int current = in.current_copies;
    if (current == 0) return in.held > 0 ? std::max(1, s.min_copies) : s.min_copies;
    int want = static_cast<int>(std::ceil(in.concurrency / s.target - 1e-9));
    want = std::clamp(want, std::max(1, s.min_copies), s.max_copies);
    if (want > current) {
      return in.now_s - in.last_scale_out_s >= s.scale_out_cooldown_s ? want : current;
    }
    if (want < current &&
        in.now_s - std::max(in.last_scale_out_s, in.last_scale_in_s) >= s.scale_in_cooldown_s) {
      current = want;
    }
    bool idle = in.last_request_s < 0 || in.now_s - in.last_request_s >= s.scale_to_zero_after_s;
    if (s.min_copies == 0 && idle && in.held == 0) return 0;
    return current;
  }
  std::string Name() const override { return "sim target-tracking stand-in"; }
};

}  // namespace

std::unique_ptr<ScaleDecider> MakeTargetTrackingDecider() {
  return std::make_unique<TargetTracking>();
}

std::unique_ptr<ScaleDecider> MakeLiveScaleDecider() { return MakeTargetTrackingDecider(); }

}  // namespace cohost::sim
