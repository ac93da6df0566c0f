#include "agent/runner_log.h"

#include <gtest/gtest.h>

namespace cohost::agent {
namespace {

TEST(RunnerLogTest, ParsesQuotedAndEscapedValues) {
  auto kv = ParseLogfmt(R"(ts=1 level=error msg="cannot load model" error="a \"b\"\\ c\nd\x01" n=3)");
  ASSERT_EQ(kv.size(), 5u);
  EXPECT_EQ(kv[2], (std::pair<std::string, std::string>{"msg", "cannot load model"}));
  EXPECT_EQ(kv[3].second, std::string("a \"b\"\\ c\nd\x01"));
  EXPECT_EQ(kv[4], (std::pair<std::string, std::string>{"n", "3"}));
}

TEST(RunnerLogTest, LastErrorLineWins) {
  std::string log =
      "level=info component=runner msg=\"loading model\" path=/m.gguf\n"
      "level=error component=runner msg=\"first\" error=old\n"
      "[2026-01-01 00:00:00] level=error component=runner msg=\"cannot load model\" "
      "error=\"the file is truncated: 100 of 200 bytes\"\n"
      "level=info component=runner msg=bye\n";
  EXPECT_EQ(LastErrorInLog(log), "cannot load model: the file is truncated: 100 of 200 bytes");
}

TEST(RunnerLogTest, ErrorWithoutErrorFieldKeepsOtherFields) {
  EXPECT_EQ(LastErrorInLog("level=error msg=\"cannot listen\" path=/x.sock"),
            "cannot listen (path=/x.sock)");
}

TEST(RunnerLogTest, NoErrorLine) {
  EXPECT_EQ(LastErrorInLog("level=info msg=listening\nsomething level=errors\n"), std::nullopt);
  EXPECT_EQ(LastErrorInLog(""), std::nullopt);
}

TEST(RunnerLogTest, LastLoadProgressLineWins) {
  std::string log =
      "ts=1 level=info component=runner msg=\"load progress\" bytes=1048576 total=4194304 mib_per_s=100 eta_s=0.03\n"
      "ts=2 level=info component=runner msg=listening port=1\n"
      "ts=3 level=info component=runner msg=\"load progress\" bytes=2097152 total=4194304 mib_per_s=200 eta_s=1.6\n";
  auto p = LastLoadProgressInLog(log);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->bytes, 2097152);
  EXPECT_EQ(p->total, 4194304);
  EXPECT_EQ(p->mib_per_s, 200);
  EXPECT_DOUBLE_EQ(p->eta_s, 1.6);
  EXPECT_EQ(DescribeLoadProgress(*p), "loaded 2 of 4 MiB (50%), 200 MiB/s, about 2 s left");
  EXPECT_EQ(LastLoadProgressInLog("ts=1 level=info msg=\"loading model\"\n"), std::nullopt);
}

}  // namespace
}  // namespace cohost::agent
