#include "policy/restart_policy.h"

#include <gtest/gtest.h>

namespace cohost::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const RestartTime kT0 = RestartTime() + std::chrono::hours(1);

TEST(RestartPolicyTest, NoCrashesStartsNow) {
  RestartDecision d = DecideRestart({}, kT0, RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kRestartNow);
  EXPECT_EQ(d.restart_at, kT0);
}

TEST(RestartPolicyTest, FirstCrashWaitsInitialBackoff) {
  RestartDecision d = DecideRestart({kT0}, kT0, RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kWait);
  EXPECT_EQ(d.restart_at, kT0 + seconds(1));
  EXPECT_EQ(d.recent_crashes, 1);
  EXPECT_EQ(d.reason, "crash 1 of 5 within 300 s; restarting after 1 s");
  // The same history a little later: still waiting, for the same moment.
  d = DecideRestart({kT0}, kT0 + milliseconds(999), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kWait);
  EXPECT_EQ(d.restart_at, kT0 + seconds(1));
  // Once the backoff is over: restart now.
  d = DecideRestart({kT0}, kT0 + seconds(1), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kRestartNow);
  EXPECT_EQ(d.restart_at, kT0 + seconds(1));
}

TEST(RestartPolicyTest, BackoffDoublesUpToTheMaximum) {
  RestartOptions o;
  o.max_crashes = 100;
  std::vector<RestartTime> crashes;
  std::vector<int> waits;
  RestartTime t = kT0;
  for (int i = 0; i < 7; ++i) {
    crashes.push_back(t);
    RestartDecision d = DecideRestart(crashes, t, o);
    ASSERT_EQ(d.action, RestartAction::kWait);
    waits.push_back(static_cast<int>(std::chrono::duration_cast<seconds>(d.restart_at - t).count()));
    t = d.restart_at + seconds(1);  // it ran for a second, then crashed again
  }
  EXPECT_EQ(waits, (std::vector<int>{1, 2, 4, 8, 16, 30, 30}));
}

TEST(RestartPolicyTest, GivesUpAtMaxCrashesWithinTheWindow) {
  std::vector<RestartTime> crashes;
  for (int i = 0; i < 4; ++i) crashes.push_back(kT0 + seconds(10 * i));
  RestartDecision d = DecideRestart(crashes, kT0 + seconds(30), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kWait);
  EXPECT_EQ(d.recent_crashes, 4);
  EXPECT_EQ(d.restart_at, kT0 + seconds(38));
  crashes.push_back(kT0 + seconds(40));
  d = DecideRestart(crashes, kT0 + seconds(40), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kGiveUp);
  EXPECT_EQ(d.recent_crashes, 5);
  EXPECT_EQ(d.reason, "crashed 5 times within 300 s");
  // Time passing does not revive a copy that gave up.
  d = DecideRestart(crashes, kT0 + std::chrono::hours(5), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kGiveUp);
}

TEST(RestartPolicyTest, CrashesOutsideTheWindowAreForgotten) {
  // Four crashes long ago, then a fifth after a long healthy run: counts as the first again.
  std::vector<RestartTime> crashes;
  for (int i = 0; i < 4; ++i) crashes.push_back(kT0 + seconds(i));
  RestartTime late = kT0 + seconds(3) + seconds(300);
  crashes.push_back(late);
  RestartDecision d = DecideRestart(crashes, late, RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kWait);
  EXPECT_EQ(d.recent_crashes, 1);
  EXPECT_EQ(d.restart_at, late + seconds(1));
  // The fifth just inside the window of the first: all five count.
  crashes.back() = kT0 + seconds(300) - milliseconds(1);
  d = DecideRestart(crashes, crashes.back(), RestartOptions());
  EXPECT_EQ(d.action, RestartAction::kGiveUp);
}

TEST(RestartPolicyTest, HistoryOrderDoesNotMatter) {
  std::vector<RestartTime> crashes{kT0 + seconds(5), kT0, kT0 + seconds(2)};
  RestartDecision d = DecideRestart(crashes, kT0 + seconds(5), RestartOptions());
  EXPECT_EQ(d.recent_crashes, 3);
  EXPECT_EQ(d.restart_at, kT0 + seconds(5) + seconds(4));
}

TEST(RestartPolicyTest, OptionsAreSanitized) {
  RestartOptions o;
  o.initial_backoff = milliseconds(-5);
  o.backoff_factor = 0.5;
  o.max_backoff = milliseconds(-1);
  o.max_crashes = 0;
  RestartOptions s = SanitizeRestartOptions(o);
  EXPECT_EQ(s.initial_backoff, milliseconds(0));
  EXPECT_EQ(s.backoff_factor, 1.0);
  EXPECT_EQ(s.max_backoff, milliseconds(0));
  EXPECT_EQ(s.max_crashes, 1);
  // max_crashes 1: the first crash fails the copy.
  EXPECT_EQ(DecideRestart({kT0}, kT0, o).action, RestartAction::kGiveUp);
}

TEST(RestartPolicyTest, SubSecondOptionsReadInMilliseconds) {
  RestartOptions o;
  o.initial_backoff = milliseconds(250);
  RestartDecision d = DecideRestart({kT0}, kT0, o);
  EXPECT_EQ(d.reason, "crash 1 of 5 within 300 s; restarting after 250 ms");
}

TEST(RestartPolicyTest, PruneDropsOnlyExpiredCrashes) {
  std::vector<RestartTime> crashes{kT0, kT0 + seconds(100), kT0 + seconds(250)};
  PruneCrashHistory(&crashes, kT0 + seconds(350), RestartOptions());
  EXPECT_EQ(crashes, (std::vector<RestartTime>{kT0 + seconds(100), kT0 + seconds(250)}));
}

}  // namespace
}  // namespace cohost::policy
