#include "sys/run.h"

#include <gtest/gtest.h>

namespace cohost::sys {
namespace {

TEST(RunCapturedTest, CapturesStdoutAndStderrApartWithTheExitStatus) {
  auto r = RunCaptured({"/bin/sh", "-c", "echo \"out $COHOST_RUN_VAR\"; echo err >&2; exit 3"},
                       {"COHOST_RUN_VAR=x"}, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_status, 3);
  EXPECT_EQ(r->out, "out x\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(RunCapturedTest, KillsAChildPastItsTimeout) {
  auto start = std::chrono::steady_clock::now();
  auto r = RunCaptured({"/bin/sleep", "30"}, {}, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(RunCapturedTest, AMissingExecutableIsAnError) {
  auto r = RunCaptured({"/nonexistent/cohost"}, {}, std::chrono::seconds(5));
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cohost::sys
