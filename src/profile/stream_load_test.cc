#include "profile/stream_load.h"

#include <gtest/gtest.h>

namespace cohost::profile {
namespace {

TEST(StreamLoad, PercentileInterpolatesBetweenClosestRanks) {
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({4, 3, 2, 1}, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile({4, 3, 2, 1}, 100), 4);
  EXPECT_DOUBLE_EQ(Percentile({10}, 99), 10);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
  // p99 of 0..100 is 99.
  std::vector<double> v;
  for (int i = 0; i <= 100; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 99);
}

TEST(StreamLoad, AServerThatIsNotThereIsUnavailable) {
  LoadOptions o;
  o.address.unix_socket = "/nonexistent/cohost.sock";
  o.timeout = std::chrono::milliseconds(2000);
  auto c = CalibratePrompt(o, 16);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(c.status().message().find("cannot reach"), std::string::npos) << c.status().message();
  // A load against it counts every request as an error and never throws.
  o.clients = 2;
  LoadResult r = RunStreamLoad(o);
  EXPECT_EQ(r.requests, 2);
  EXPECT_EQ(r.errors, 2);
  EXPECT_EQ(r.ok, 0);
  EXPECT_FALSE(r.error_samples.empty());
  EXPECT_EQ(r.ToJson()["errors"], 2);
}

}  // namespace
}  // namespace cohost::profile
