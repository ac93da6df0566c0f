#include "router/hold_queue.h"

#include <gtest/gtest.h>

#include "core/metric_names.h"

namespace cohost::router {
namespace {

TEST(HoldQueueTest, BoundedPerComponentAndPublishedAsAGauge) {
  MetricsRegistry m;
  metric::DeclareAll(m);
  HoldQueue q(&m);
  auto a1 = q.TryEnter("a", 2);
  auto a2 = q.TryEnter("a", 2);
  ASSERT_NE(a1, nullptr);
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(q.TryEnter("a", 2), nullptr);  // full
  auto b1 = q.TryEnter("b", 2);            // another component has its own bound
  EXPECT_NE(b1, nullptr);
  EXPECT_EQ(q.Held("a"), 2);
  EXPECT_EQ(m.Value(metric::kRequestsHeld, {{"component", "a"}}), 2);
  a1.reset();
  EXPECT_EQ(q.Held("a"), 1);
  EXPECT_EQ(m.Value(metric::kRequestsHeld, {{"component", "a"}}), 1);
  EXPECT_NE(q.TryEnter("a", 2), nullptr);  // room again (and released at once)
  EXPECT_EQ(m.Value(metric::kHeldTotal, {{"component", "a"}}), 3);
  EXPECT_EQ(q.TryEnter("c", 0), nullptr);  // no holding at all
}

}  // namespace
}  // namespace cohost::router
