#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/metric_names.h"

namespace cohost {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersGaugesAndSums) {
  MetricsRegistry r;
  metric::DeclareAll(r);
  r.Get(metric::kRequestsTotal, {{"component", "a"}, {"outcome", "ok"}}).Add(3);
  r.Get(metric::kRequestsTotal, {{"component", "a"}, {"outcome", "error"}}).Add(1);
  r.Get(metric::kRequestsTotal, {{"component", "b"}, {"outcome", "ok"}}).Add(5);
  EXPECT_EQ(r.Sum(metric::kRequestsTotal, {{"component", "a"}}), 4);
  EXPECT_EQ(r.Sum(metric::kRequestsTotal), 9);
  Series& g = r.Get(metric::kRequestsInFlight, {{"component", "a"}});
  g.Add(2);
  g.Add(-1);
  EXPECT_EQ(r.Value(metric::kRequestsInFlight, {{"component", "a"}}), 1);
  EXPECT_EQ(r.Value(metric::kRequestsInFlight, {{"component", "zzz"}}), 0);
  r.Remove(metric::kRequestsTotal, {{"component", "a"}});
  EXPECT_EQ(r.Sum(metric::kRequestsTotal), 5);
}

TEST(MetricsTest, PrometheusTextExposition) {
  MetricsRegistry r;
  r.Declare("cohost_x_seconds", MetricType::kHistogram, "A latency.", {0.1, 1});
  r.Declare("cohost_y_total", MetricType::kCounter, "A count.");
  Series& h = r.Get("cohost_x_seconds", {{"component", "a\"b"}});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  r.Get("cohost_y_total").Add(2);
  std::string text = r.Exposition();
  EXPECT_THAT(text, HasSubstr("# HELP cohost_x_seconds A latency.\n# TYPE cohost_x_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("cohost_x_seconds_bucket{component=\"a\\\"b\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cohost_x_seconds_bucket{component=\"a\\\"b\",le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cohost_x_seconds_bucket{component=\"a\\\"b\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cohost_x_seconds_count{component=\"a\\\"b\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cohost_x_seconds_sum{component=\"a\\\"b\"} 5.55\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cohost_y_total counter\ncohost_y_total 2\n"));
}

}  // namespace
}  // namespace cohost
