#include "agent/copy_state.h"

#include <gtest/gtest.h>

namespace cohost::agent {
namespace {

using S = CopyState;

TEST(CopyStateTest, Names) {
  EXPECT_STREQ(CopyStateName(S::kPending), "pending");
  EXPECT_STREQ(CopyStateName(S::kLoading), "loading");
  EXPECT_STREQ(CopyStateName(S::kReady), "ready");
  EXPECT_STREQ(CopyStateName(S::kDraining), "draining");
  EXPECT_STREQ(CopyStateName(S::kStopped), "stopped");
  EXPECT_STREQ(CopyStateName(S::kFailed), "failed");
}

TEST(CopyStateTest, TransitionsFollowTheDiagram) {
  EXPECT_TRUE(IsAllowedTransition(S::kPending, S::kLoading));
  EXPECT_TRUE(IsAllowedTransition(S::kLoading, S::kReady));
  EXPECT_TRUE(IsAllowedTransition(S::kLoading, S::kPending));
  EXPECT_TRUE(IsAllowedTransition(S::kReady, S::kPending));
  EXPECT_TRUE(IsAllowedTransition(S::kReady, S::kDraining));
  EXPECT_TRUE(IsAllowedTransition(S::kDraining, S::kStopped));
  EXPECT_TRUE(IsAllowedTransition(S::kLoading, S::kFailed));
  EXPECT_TRUE(IsAllowedTransition(S::kPending, S::kStopped));
  EXPECT_FALSE(IsAllowedTransition(S::kPending, S::kReady));
  EXPECT_FALSE(IsAllowedTransition(S::kLoading, S::kDraining));
  EXPECT_FALSE(IsAllowedTransition(S::kDraining, S::kReady));
  EXPECT_FALSE(IsAllowedTransition(S::kDraining, S::kFailed));
  for (S final : {S::kStopped, S::kFailed}) {
    EXPECT_TRUE(IsFinal(final));
    for (S to : {S::kPending, S::kLoading, S::kReady, S::kDraining, S::kStopped, S::kFailed}) {
      EXPECT_FALSE(IsAllowedTransition(final, to));
    }
  }
}

}  // namespace
}  // namespace cohost::agent
