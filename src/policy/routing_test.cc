#include "policy/routing.h"

#include <gtest/gtest.h>

#include <map>
#include <algorithm>
#include <random>
#include <string>

namespace cohost::policy {
namespace {

std::vector<CopyLoad> Loads(std::vector<int64_t> outstanding) {
  std::vector<CopyLoad> out;
  for (int64_t o : outstanding) out.push_back(CopyLoad{o, false});
  return out;
}

TEST(RoutingTest, NoCopiesGivesNothing) {
  EXPECT_FALSE(ChooseCopy(RoutingStrategy::kLeastOutstanding, {}, 0).has_value());
  EXPECT_FALSE(ChooseCopy(RoutingStrategy::kRandom, {}, 7).has_value());
}

TEST(RoutingTest, LeastOutstandingPicksTheIdlest) {
  for (uint64_t draw = 0; draw < 10; ++draw) {
    EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, Loads({3, 1, 2}), draw), 1u);
  }
}

TEST(RoutingTest, LeastOutstandingBreaksTiesByDraw) {
  auto loads = Loads({2, 0, 5, 0, 0});
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 0), 1u);
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 1), 3u);
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 2), 4u);
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 3), 1u);  // round robin wraps
}

TEST(RoutingTest, TriedCopiesAreExcluded) {
  auto loads = Loads({0, 4, 9});
  loads[0].tried = true;
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 0), 1u);
  loads[1].tried = true;
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 0), 2u);
  EXPECT_EQ(ChooseCopy(RoutingStrategy::kRandom, loads, 12345), 2u);
  loads[2].tried = true;
  EXPECT_FALSE(ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, 0).has_value());
  EXPECT_FALSE(ChooseCopy(RoutingStrategy::kRandom, loads, 0).has_value());
}

TEST(RoutingTest, RandomIgnoresLoadAndCoversAllCopies) {
  auto loads = Loads({100, 0, 50});
  std::map<size_t, int> hits;
  for (uint64_t draw = 0; draw < 300; ++draw) {
    auto c = ChooseCopy(RoutingStrategy::kRandom, loads, draw);
    ASSERT_TRUE(c.has_value());
    ++hits[*c];
  }
  EXPECT_EQ(hits[0], 100);
  EXPECT_EQ(hits[1], 100);
  EXPECT_EQ(hits[2], 100);
}

TEST(RoutingTest, RandomizedChoiceIsAlwaysAnUntriedMinimum) {
  const uint32_t seed = 20261122;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 2000; ++round) {
    size_t n = rng() % 6;
    std::vector<CopyLoad> loads;
    for (size_t i = 0; i < n; ++i) {
      loads.push_back(CopyLoad{static_cast<int64_t>(rng() % 4), rng() % 3 == 0});
    }
    auto c = ChooseCopy(RoutingStrategy::kLeastOutstanding, loads, rng());
    int64_t min = INT64_MAX;
    for (const auto& l : loads)
      if (!l.tried) min = std::min(min, l.outstanding);
    if (min == INT64_MAX) {
      EXPECT_FALSE(c.has_value());
      continue;
    }
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(loads[*c].tried);
    EXPECT_EQ(loads[*c].outstanding, min);
  }
}

TEST(RoutingTest, ParsesStrategyNames) {
  EXPECT_EQ(*ParseRoutingStrategy("random"), RoutingStrategy::kRandom);
  EXPECT_EQ(*ParseRoutingStrategy("least_outstanding"), RoutingStrategy::kLeastOutstanding);
  auto bad = ParseRoutingStrategy("fastest");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "routing");
  EXPECT_STREQ(RoutingStrategyName(RoutingStrategy::kRandom), "random");
}

}  // namespace
}  // namespace cohost::policy
