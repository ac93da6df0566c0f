#include "policy/autoscale.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cohost::policy {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

const ScaleTime kT0 = ScaleTime() + std::chrono::hours(1);

// A fake clock: tests move time forward explicitly.
struct Clock {
  ScaleTime now = kT0;
  void Advance(int s) { now += seconds(s); }
};

ScalingPolicy Policy() {
  ScalingPolicy p;
  p.target = 4;
  p.scale_out_cooldown_s = 10;
  p.scale_in_cooldown_s = 30;
  p.stabilization_window_s = 20;
  p.scale_to_zero_after_s = 60;
  return p;
}

CopyBounds Bounds(int initial, int min, int max) { return CopyBounds{initial, min, max}; }

ScaleObservation Busy(double in_flight, double waiting = 0) {
  ScaleObservation o;
  o.in_flight = in_flight;
  o.waiting = waiting;
  return o;
}

// Runs decisions, carrying the state, like the autoscaler does.
struct Driver {
  ScalingPolicy policy = Policy();
  CopyBounds bounds = Bounds(1, 1, 8);
  ScalingState state;
  Clock clock;
  ScaleDecision last;

  int Decide(const ScaleObservation& o) {
    last = DecideScale(policy, bounds, state, o, clock.now);
    state = last.next;
    return last.desired;
  }
};

TEST(AutoscaleTest, TargetTrackingIsCeilOfTotalOverTarget) {
  Driver d;
  EXPECT_EQ(d.Decide(Busy(9)), 3);  // 9 concurrent at target 4 per copy
  EXPECT_EQ(d.last.direction, ScaleDirection::kOut);
  EXPECT_EQ(d.last.recommended, 3);
  EXPECT_THAT(d.last.reason, HasSubstr("scale out 1 -> 3"));
  d.clock.Advance(10);
  EXPECT_EQ(d.Decide(Busy(12)), 3);  // exactly 4 per copy: at target
  EXPECT_EQ(d.last.direction, ScaleDirection::kNone);
  EXPECT_DOUBLE_EQ(d.last.metric, 4);
}

TEST(AutoscaleTest, WaitingRequestsCountTowardsConcurrency) {
  Driver d;
  EXPECT_EQ(d.Decide(Busy(4, 5)), 3);
}

TEST(AutoscaleTest, ClampsToMinAndMax) {
  Driver d;
  d.bounds = Bounds(2, 2, 5);
  EXPECT_EQ(d.Decide(Busy(100)), 5);
  EXPECT_EQ(d.last.recommended, 5);
  d.clock.Advance(1000);
  EXPECT_EQ(d.Decide(Busy(1)), 2);  // never below min
}

TEST(AutoscaleTest, InvocationsPerCopyPerMinute) {
  Driver d;
  d.policy.metric = ScalingMetric::kInvocationsPerCopyPerMinute;
  d.policy.target = 60;
  ScaleObservation o;
  o.invocations_per_minute = 250;
  o.in_flight = 1;
  EXPECT_EQ(d.Decide(o), 5);  // ceil(250 / 60)
}

TEST(AutoscaleTest, QueueDepthCountsOnlyWaiting) {
  Driver d;
  d.policy.metric = ScalingMetric::kQueueDepth;
  d.policy.target = 2;
  EXPECT_EQ(d.Decide(Busy(50, 0)), 1);
  d.clock.Advance(10);
  EXPECT_EQ(d.Decide(Busy(50, 7)), 4);  // ceil(7 / 2)
  d.clock.Advance(10);
  ScaleObservation o = Busy(50, 1);
  o.queued_in_copies = 9;  // waiting inside the copies for a slot
  EXPECT_EQ(d.Decide(o), 5);  // ceil(10 / 2)
}

TEST(AutoscaleTest, ScaleOutCooldown) {
  Driver d;
  EXPECT_EQ(d.Decide(Busy(8)), 2);
  d.clock.Advance(5);
  EXPECT_EQ(d.Decide(Busy(16)), 2);  // 4 wanted, but 5 s left of the cooldown
  EXPECT_EQ(d.last.direction, ScaleDirection::kNone);
  EXPECT_EQ(d.last.recommended, 4);
  EXPECT_THAT(d.last.reason, HasSubstr("cooldown (5 s left)"));
  d.clock.Advance(5);
  EXPECT_EQ(d.Decide(Busy(16)), 4);
  EXPECT_EQ(d.last.direction, ScaleDirection::kOut);
}

TEST(AutoscaleTest, ScaleInWaitsForCooldownSinceLastScaling) {
  Driver d;
  d.policy.stabilization_window_s = 0;
  d.state.desired = 1;  // decided before
  EXPECT_EQ(d.Decide(Busy(16)), 4);
  d.clock.Advance(29);
  EXPECT_EQ(d.Decide(Busy(4)), 4);  // 30 s scale-in cooldown after the scale-out
  EXPECT_THAT(d.last.reason, HasSubstr("scale-in cooldown"));
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(4)), 1);
  EXPECT_EQ(d.last.direction, ScaleDirection::kIn);
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(8)), 2);  // scale-out is not held back by a scale-in
}

TEST(AutoscaleTest, ACountSetFromOutsideHoldsForTheScaleInCooldown) {
  Driver d;
  d.bounds = Bounds(3, 1, 8);
  d.policy.stabilization_window_s = 0;
  EXPECT_EQ(d.Decide(Busy(0)), 3);  // first decision: copies.initial, held for the cooldown
  d.clock.Advance(29);
  EXPECT_EQ(d.Decide(Busy(0)), 3);
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
  d.state = SetDesiredCopies(d.state, 4, d.clock.now);  // a user asks for 4
  d.clock.Advance(10);
  EXPECT_EQ(d.Decide(Busy(0)), 4);
  d.clock.Advance(20);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
}

TEST(AutoscaleTest, StabilizationHoldsThroughALull) {
  Driver d;
  d.policy.scale_in_cooldown_s = 0;
  d.policy.stabilization_window_s = 20;
  EXPECT_EQ(d.Decide(Busy(16)), 4);
  d.clock.Advance(5);
  EXPECT_EQ(d.Decide(Busy(0)), 4);  // recommendation 1, but 4 within the last 20 s
  EXPECT_THAT(d.last.reason, HasSubstr("stabilization window"));
  d.clock.Advance(5);
  EXPECT_EQ(d.Decide(Busy(8)), 4);   // recommends 2: the max in the window is still 4
  d.clock.Advance(11);                // t0 + 21: the 4 left the window; 2 (t0+10) remains
  EXPECT_EQ(d.Decide(Busy(0)), 2);
  EXPECT_EQ(d.last.direction, ScaleDirection::kIn);
  d.clock.Advance(21);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
}

TEST(AutoscaleTest, StepScaling) {
  Driver d;
  d.policy.steps = {{0, 1, -1}, {3, 6, 1}, {6, std::numeric_limits<double>::infinity(), 3}};
  d.policy.scale_in_cooldown_s = 0;
  d.policy.stabilization_window_s = 0;
  d.policy.scale_out_cooldown_s = 0;
  EXPECT_EQ(d.Decide(Busy(4)), 2);  // 4 per copy: [3, 6) adds 1
  EXPECT_THAT(d.last.reason, HasSubstr("step [3, 6) adjusts +1"));
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(14)), 5);  // 7 per copy: [6, inf) adds 3
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(10)), 5);  // 2 per copy: no step
  EXPECT_THAT(d.last.reason, HasSubstr("no step matches"));
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(2)), 4);  // 0.4 per copy: [0, 1) removes 1
  EXPECT_EQ(d.last.direction, ScaleDirection::kIn);
}

TEST(AutoscaleTest, ScaleToZeroAfterIdleWithMinZero) {
  Driver d;
  d.bounds = Bounds(1, 0, 4);
  d.policy.scale_to_zero_after_s = 60;
  EXPECT_EQ(d.Decide(Busy(1)), 1);
  d.clock.Advance(30);
  EXPECT_EQ(d.Decide(Busy(0)), 1);  // idle 30 s: keeps its one copy
  d.clock.Advance(29);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(0)), 0);  // idle 60 s
  EXPECT_EQ(d.last.direction, ScaleDirection::kIn);
  EXPECT_THAT(d.last.reason, HasSubstr("scale to zero"));
  d.clock.Advance(100);
  EXPECT_EQ(d.Decide(Busy(0)), 0);
  EXPECT_EQ(d.last.direction, ScaleDirection::kNone);
}

TEST(AutoscaleTest, ARecentRequestPostponesScaleToZero) {
  Driver d;
  d.bounds = Bounds(1, 0, 4);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
  d.clock.Advance(50);
  ScaleObservation o;  // a short request came and went between two decisions
  o.last_request_at = d.clock.now - seconds(5);
  d.clock.Advance(50);  // idle 100 s by the decisions, but 55 s since that request
  EXPECT_EQ(d.Decide(o), 1);
  d.clock.Advance(5);
  EXPECT_EQ(d.Decide(o), 0);
}

TEST(AutoscaleTest, NoScaleToZeroWithMinAboveZero) {
  Driver d;
  d.bounds = Bounds(1, 1, 4);
  d.Decide(Busy(0));
  d.clock.Advance(10000);
  EXPECT_EQ(d.Decide(Busy(0)), 1);
}

TEST(AutoscaleTest, HeldRequestsScaleFromZeroAtOnce) {
  Driver d;
  d.bounds = Bounds(0, 0, 4);
  EXPECT_EQ(d.Decide(Busy(0)), 0);
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(0, 1)), 1);
  EXPECT_EQ(d.last.direction, ScaleDirection::kOut);
  EXPECT_THAT(d.last.reason, HasSubstr("scale from zero"));
  // Straight back to zero and then a burst of 9 held: 3 copies, despite the out cooldown.
  d.state.desired = 0;
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(0, 9)), 3);
}

TEST(AutoscaleTest, FirstDecisionStartsFromInitialAndBoundsChangesApplyAtOnce) {
  Driver d;
  d.bounds = Bounds(3, 1, 8);
  d.policy.stabilization_window_s = 0;
  EXPECT_EQ(d.Decide(Busy(12)), 3);
  d.bounds = Bounds(1, 1, 2);  // a spec update lowered max
  d.clock.Advance(1);
  EXPECT_EQ(d.Decide(Busy(12)), 2);
  EXPECT_EQ(d.last.direction, ScaleDirection::kIn);
  EXPECT_THAT(d.last.reason, HasSubstr("copy bounds"));
}

}  // namespace
}  // namespace cohost::policy
