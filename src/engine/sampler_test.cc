#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace cohost::engine {
namespace {

// The plain loop FirstArgMax replaces: the first index whose value no later value exceeds.
Token Reference(const std::vector<float>& x) {
  Token best = 0;
  for (Token t = 1; t < static_cast<Token>(x.size()); ++t) {
    if (x[t] > x[best]) best = t;
  }
  return best;
}

TEST(FirstArgMaxTest, MatchesThePlainLoopOnRandomLogits) {
  std::mt19937 rng(7);
  std::normal_distribution<float> d(0, 3);
  for (int n : {1, 2, 7, 8, 9, 31, 32000, 32003}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int rep = 0; rep < 20; ++rep) {
      for (float& v : x) v = d(rng);
      ASSERT_EQ(FirstArgMax(x.data(), n), Reference(x)) << "n=" << n;
    }
  }
}

TEST(FirstArgMaxTest, TiesGoToTheFirstAndNaNsAreNeverPicked) {
  std::vector<float> x(100, -1.0f);
  x[70] = 5;
  x[13] = 5;
  x[99] = 5;
  EXPECT_EQ(FirstArgMax(x.data(), 100), 13);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(FirstArgMax(x.data(), 100), 13);
  x[13] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(FirstArgMax(x.data(), 100), 70);
  std::vector<float> all_low(9, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(FirstArgMax(all_low.data(), 9), 0);
  EXPECT_EQ(FirstArgMax(x.data(), 0), 0);
}

}  // namespace
}  // namespace cohost::engine
