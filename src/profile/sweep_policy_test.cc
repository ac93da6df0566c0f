#include "profile/sweep_policy.h"

#include <gtest/gtest.h>

namespace cohost::profile {
namespace {

SweepStep Step(int c, double ttft_p99, double itl_p99, double tps, int errors = 0) {
  SweepStep s;
  s.concurrency = c;
  s.load.requests = c;
  s.load.ok = c - errors;
  s.load.errors = errors;
  s.load.ttft_ms.p99 = ttft_p99;
  s.load.ttft_ms.p50 = ttft_p99 / 2;
  s.load.itl_ms.p99 = itl_p99;
  s.load.itl_ms.p50 = itl_p99 / 2;
  s.load.decode_tokens_per_s = tps;
  return s;
}

TEST(SweepPolicy, JudgeNamesWhatBroke) {
  Slo slo{500, 50};
  SweepStep s = Step(4, 812.3, 40, 100);
  JudgeStep(slo, s);
  EXPECT_FALSE(s.meets_slo);
  EXPECT_EQ(s.verdict, "TTFT p99 812.3 ms > 500.0 ms");
  s = Step(4, 400, 60, 100);
  JudgeStep(slo, s);
  EXPECT_EQ(s.verdict, "ITL p99 60.0 ms > 50.0 ms");
  s = Step(4, 400, 40, 100);
  JudgeStep(slo, s);
  EXPECT_TRUE(s.meets_slo);
  EXPECT_EQ(s.verdict, "meets");
  // The p50 is judged when asked: 812.3 / 2 < 500.
  slo.use_p50 = true;
  s = Step(4, 812.3, 40, 100);
  JudgeStep(slo, s);
  EXPECT_TRUE(s.meets_slo);
  // Errors never meet, objective or not.
  s = Step(4, 1, 1, 100, 1);
  JudgeStep(Slo{}, s);
  EXPECT_FALSE(s.meets_slo);
  EXPECT_EQ(s.verdict, "1 of 4 requests failed");
  s = Step(4, 1e6, 1e6, 100);
  JudgeStep(Slo{}, s);
  EXPECT_TRUE(s.meets_slo);
  EXPECT_EQ(s.verdict, "no objective");
}

TEST(SweepPolicy, DoublesUntilSomethingStopsIt) {
  Slo slo{500, 50};
  SweepPolicy policy{16, 0.05};
  std::vector<SweepStep> steps{Step(1, 100, 10, 50)};
  for (auto& s : steps) JudgeStep(slo, s);
  EXPECT_EQ(DecideNext(steps, policy).concurrency, 2);
  steps.push_back(Step(2, 120, 12, 90));
  JudgeStep(slo, steps.back());
  EXPECT_EQ(DecideNext(steps, policy).concurrency, 4);
  // Throughput grew by only 2%: stop.
  steps.push_back(Step(4, 150, 15, 91.8));
  JudgeStep(slo, steps.back());
  EXPECT_EQ(DecideNext(steps, policy).stop, SweepStop::kNoGrowth);
  EXPECT_EQ(DecideNext(steps, policy).concurrency, 0);
  // An SLO miss stops.
  steps.back() = Step(4, 900, 15, 150);
  JudgeStep(slo, steps.back());
  EXPECT_EQ(DecideNext(steps, policy).stop, SweepStop::kSloBroken);
  // Errors stop.
  steps.back() = Step(4, 100, 15, 150, 2);
  JudgeStep(slo, steps.back());
  EXPECT_EQ(DecideNext(steps, policy).stop, SweepStop::kErrors);
  // The limit stops.
  std::vector<SweepStep> one{Step(16, 1, 1, 1)};
  JudgeStep(slo, one.back());
  EXPECT_EQ(DecideNext(one, policy).stop, SweepStop::kLimit);
}

TEST(SweepPolicy, BestIsTheHighestConcurrencyThatMeets) {
  Slo slo{500, 50};
  std::vector<SweepStep> steps{Step(1, 100, 10, 50), Step(2, 200, 20, 90), Step(4, 600, 30, 150)};
  for (auto& s : steps) JudgeStep(slo, s);
  ASSERT_TRUE(BestStep(steps).has_value());
  EXPECT_EQ(steps[*BestStep(steps)].concurrency, 2);
  // A step that meets but adds no throughput is not the best: its predecessor is.
  std::vector<SweepStep> flat{Step(1, 100, 10, 50), Step(2, 200, 20, 90), Step(4, 300, 30, 40)};
  for (auto& s : flat) JudgeStep(slo, s);
  EXPECT_TRUE(flat[2].meets_slo);
  EXPECT_EQ(flat[*BestStep(flat, 0.05)].concurrency, 2);
  // Nothing meets: no best; the closest is the one with the lowest worst ratio.
  std::vector<SweepStep> none{Step(1, 600, 10, 50), Step(2, 700, 80, 90)};
  for (auto& s : none) JudgeStep(slo, s);
  EXPECT_FALSE(BestStep(none).has_value());
  EXPECT_EQ(ClosestStep(slo, none), 0u);
}

}  // namespace
}  // namespace cohost::profile
