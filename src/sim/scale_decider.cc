#include "sim/scale_decider.h"

#include <chrono>
#include <cmath>

#include "policy/autoscale.h"

namespace cohost::sim {
namespace {

policy::ScaleTime At(double seconds) {
  return policy::ScaleTime{} + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(seconds));
}

int Seconds(double s) { return static_cast<int>(std::lround(s)); }

class LiveDecider : public ScaleDecider {
 public:
  LiveDecider(const ModelSpec& m, int initial_copies) {
    const ScalingSettings& s = m.scaling;
    policy_.metric = ScalingMetric::kConcurrentRequestsPerCopy;
    policy_.target = s.target;
    policy_.scale_out_cooldown_s = Seconds(s.scale_out_cooldown_s);
    policy_.scale_in_cooldown_s = Seconds(s.scale_in_cooldown_s);
    policy_.stabilization_window_s = Seconds(s.stabilization_window_s);
    policy_.scale_to_zero_after_s = Seconds(s.scale_to_zero_after_s);
    bounds_.min = s.min_copies;
    bounds_.max = s.max_copies;
    bounds_.initial = initial_copies;
  }

  int Decide(const ScaleInput& in) override {
    policy::ScaleObservation obs;
    obs.in_flight = in.in_flight;
    obs.waiting = in.waiting;
    obs.invocations_per_minute = in.invocations_per_minute;
    if (in.last_request_s >= 0) obs.last_request_at = At(in.last_request_s);
    policy::ScaleDecision d = policy::DecideScale(policy_, bounds_, state_, obs, At(in.now_s));
    state_ = std::move(d.next);
    return d.desired;
  }

  void Evicted(double now_s) override {
    if (state_.desired > 0) state_ = policy::SetDesiredCopies(state_, state_.desired - 1, At(now_s));
  }

  std::string Name() const override { return "policy::DecideScale (live)"; }

 private:
  ScalingPolicy policy_;
  CopyBounds bounds_;
  policy::ScalingState state_;
};

}  // namespace

std::unique_ptr<ScaleDecider> MakeLiveScaleDecider(const ModelSpec& model, int initial_copies) {
  return std::make_unique<LiveDecider>(model, initial_copies);
}

}  // namespace cohost::sim
