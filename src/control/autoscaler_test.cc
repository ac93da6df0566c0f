#include "control/autoscaler.h"

#include <gtest/gtest.h>

#include "core/metric_names.h"

namespace cohost::control {
namespace {

using std::chrono::seconds;

const policy::ScaleTime kT0 = policy::ScaleTime() + std::chrono::hours(1);

InferenceComponent Spec(int initial, int min, int max) {
  InferenceComponent c;
  c.name = "alpha";
  c.endpoint = "main";
  c.model_uri = "/m.gguf";
  c.copies = {initial, min, max};
  c.scaling.target = 2;
  c.scaling.scale_out_cooldown_s = 0;
  c.scaling.scale_in_cooldown_s = 5;
  c.scaling.stabilization_window_s = 0;
  c.scaling.scale_to_zero_after_s = 10;
  return c;
}

class AutoscalerTest : public ::testing::Test {
 protected:
  AutoscalerTest() { metric::DeclareAll(metrics_); }
  Series& Gauge(const char* name) { return metrics_.Get(name, {{"component", "alpha"}}); }
  MetricsRegistry metrics_;
  Autoscaler autoscaler_{metrics_};
};

TEST_F(AutoscalerTest, ReadsTheRouterMetrics) {
  InferenceComponent spec = Spec(1, 1, 8);
  autoscaler_.Tick({spec}, kT0);
  EXPECT_EQ(autoscaler_.Desired(spec), 1);
  Gauge(metric::kRequestsInFlight).Set(5);  // what the router records
  Gauge(metric::kRequestsHeld).Set(1);
  auto changes = autoscaler_.Tick({spec}, kT0 + seconds(1));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].decision.direction, policy::ScaleDirection::kOut);
  EXPECT_EQ(autoscaler_.Desired(spec), 3);  // ceil(6 / 2)
  EXPECT_EQ(metrics_.Value(metric::kCopiesDesired, {{"component", "alpha"}}), 3);
  EXPECT_EQ(metrics_.Value(metric::kScalingEventsTotal, {{"component", "alpha"}, {"direction", "out"}}), 1);
  // A runner's queue (scraped from /stats) is part of in flight: concurrency does not count it
  // twice; the queue depth metric reads it.
  metrics_.Get(metric::kCopyQueued, {{"component", "alpha"}, {"copy", "alpha-1"}}).Set(4);
  autoscaler_.Tick({spec}, kT0 + seconds(2));
  EXPECT_EQ(autoscaler_.Desired(spec), 3);
  EXPECT_EQ(autoscaler_.LastObservation("alpha").queued_in_copies, 4);
}

TEST_F(AutoscalerTest, AUserSettingTheSameCountAgainResetsAnAutoscaledCount) {
  InferenceComponent spec = Spec(1, 1, 8);
  autoscaler_.Tick({spec}, kT0);
  Gauge(metric::kRequestsInFlight).Set(6);
  autoscaler_.Tick({spec}, kT0 + seconds(1));
  ASSERT_EQ(autoscaler_.Desired(spec), 3);  // scaled out; copies.initial is still 1
  Gauge(metric::kRequestsInFlight).Set(0);
  autoscaler_.Tick({spec}, kT0 + seconds(2));
  ASSERT_EQ(autoscaler_.Desired(spec), 3);  // idle, but within the scale-in cooldown
  // PATCH {"copies": {"initial": 1}}: the value does not change, but the user asked for it.
  autoscaler_.UserSetCopies("alpha", 1);
  autoscaler_.Tick({spec}, kT0 + seconds(3));
  EXPECT_EQ(autoscaler_.Desired(spec), 1);
  autoscaler_.Tick({spec}, kT0 + seconds(4));
  EXPECT_EQ(autoscaler_.Desired(spec), 1);
}

TEST_F(AutoscalerTest, AHeldRequestScalesFromZeroAndIdleGoesBackToZero) {
  InferenceComponent spec = Spec(0, 0, 4);
  autoscaler_.Tick({spec}, kT0);
  EXPECT_EQ(autoscaler_.Desired(spec), 0);
  Gauge(metric::kRequestsHeld).Set(1);
  autoscaler_.Tick({spec}, kT0 + seconds(1));
  EXPECT_EQ(autoscaler_.Desired(spec), 1);
  // Served: the hold ends, the request is counted as answered.
  Gauge(metric::kRequestsHeld).Set(0);
  metrics_.Get(metric::kRequestsTotal, {{"component", "alpha"}, {"outcome", "ok"}}).Add(1);
  autoscaler_.Tick({spec}, kT0 + seconds(2));
  EXPECT_EQ(autoscaler_.LastObservation("alpha").invocations_per_minute, 1);
  autoscaler_.Tick({spec}, kT0 + seconds(10));
  EXPECT_EQ(autoscaler_.Desired(spec), 1);  // 9 s since the request arrived (seen at t0 + 1)
  autoscaler_.Tick({spec}, kT0 + seconds(11));
  EXPECT_EQ(autoscaler_.Desired(spec), 0);  // 10 s
}

TEST_F(AutoscalerTest, AUsersCountAndAnEvictionSetTheCount) {
  InferenceComponent spec = Spec(1, 0, 8);
  autoscaler_.Tick({spec}, kT0);
  spec.copies.initial = 4;  // PATCH copies.initial
  autoscaler_.Tick({spec}, kT0 + seconds(1));
  EXPECT_EQ(autoscaler_.Desired(spec), 4);
  autoscaler_.Evicted("alpha", kT0 + seconds(2));
  EXPECT_EQ(autoscaler_.Desired(spec), 3);
  autoscaler_.Tick({spec}, kT0 + seconds(3));
  EXPECT_EQ(autoscaler_.Desired(spec), 3);  // held for the scale-in cooldown
  autoscaler_.Tick({spec}, kT0 + seconds(8));
  EXPECT_EQ(autoscaler_.Desired(spec), 1);  // idle: the floor of target tracking
  autoscaler_.Tick({}, kT0 + seconds(9));   // deleted: forgotten
  EXPECT_EQ(autoscaler_.Desired(spec), spec.copies.initial);
}

}  // namespace
}  // namespace cohost::control
