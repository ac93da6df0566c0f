// Continuous batching through the real API: many simultaneous streams, cancellation by
// disconnect, and the bounded queue.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/harness.h"

namespace cohost::testing {
namespace {

json LongStream(int max_tokens) {
  return {{"prompt", "Once upon a time"}, {"max_tokens", max_tokens}, {"ignore_eos", true},
          {"stream", true}, {"stream_options", {{"include_usage", true}}}};
}

TEST(RunnerConcurrencyTest, SixteenSimultaneousStreamsAllComplete) {
  auto runner = Runner::Start(SmallModel(), {"--parallel", "16", "--context", "128"});
  ASSERT_NE(runner, nullptr);
  constexpr int kClients = 16;
  constexpr int kTokens = 24;
  std::vector<StreamResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = runner->Client();
      results[i] = PostStream(c, "/v1/completions", LongStream(kTokens));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i].status, 200);
    EXPECT_EQ(results[i].finish_reason, "length");
    EXPECT_EQ(results[i].usage["completion_tokens"], kTokens);
    EXPECT_EQ(results[i].events.back(), "[DONE]");
  }
  // Counters are published between decode steps: a client may hold its answer just before.
  EXPECT_TRUE(WaitUntil([&] { return runner->Stats()["requests_finished"] == kClients; }))
      << runner->Stats().dump();
  json stats = runner->Stats();
  EXPECT_EQ(stats["requests_finished"], kClients);
  EXPECT_EQ(stats["tokens_generated"], kClients * kTokens);
  // Batched: far fewer decode steps than tokens (one step serves many streams).
  EXPECT_LT(stats["decode_steps"].get<int>(), kClients * kTokens / 2) << stats.dump();
}

TEST(RunnerConcurrencyTest, DisconnectCancelsAndFreesTheSlot) {
  auto runner = Runner::Start(SmallModel(), {"--parallel", "2", "--context", "2048"});
  ASSERT_NE(runner, nullptr);
  auto c = runner->Client();
  int chunks = 0;
  auto r = c.SendStreaming("POST", "/v1/completions", LongStream(2000).dump(),
                           [&](std::string_view) { return ++chunks < 3; });  // hang up early
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(WaitUntil([&] {
    json s = runner->Stats();
    return s["slots_busy"] == 0 && s["requests_finished"] == 1;
  })) << runner->Stats().dump();
  json s = runner->Stats();
  EXPECT_EQ(s["kv_cells_used"], 0);
  EXPECT_LT(s["tokens_generated"].get<int>(), 2000);
  // A non-streaming client that goes away is cancelled too.
  auto c2 = runner->Client();
  std::thread hangup([&] {
    auto cc = runner->Client(std::chrono::milliseconds(300));  // gives up before the answer
    auto r = cc.Send("POST", "/v1/completions",
                     json({{"prompt", "x"}, {"max_tokens", 2000}, {"ignore_eos", true}}).dump());
    EXPECT_FALSE(r.ok()) << "the client was meant to time out";
  });
  hangup.join();
  ASSERT_TRUE(WaitUntil([&] { return runner->Stats()["requests_finished"] == 2; }))
      << runner->Stats().dump();
  EXPECT_LT(runner->Stats()["tokens_generated"].get<int>(), 4000);
  EXPECT_EQ(PostJson(c2, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 2}})).status, 200);
}

TEST(RunnerConcurrencyTest, FullQueueAnswers503WithRetryAfter) {
  auto runner = Runner::Start(SmallModel(), {"--parallel", "1", "--max-queue", "1", "--context", "4096"});
  ASSERT_NE(runner, nullptr);
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      auto c = runner->Client();
      (void)c.SendStreaming("POST", "/v1/completions", LongStream(4000).dump(),
                            [&](std::string_view) { return !stop.load(); });
    });
  }
  ASSERT_TRUE(WaitUntil([&] {
    json s = runner->Stats();
    return s["slots_busy"] == 1 && s["queue_length"] == 1;
  })) << runner->Stats().dump();
  auto c = runner->Client();
  JsonResponse r = PostJson(c, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 2}}));
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_EQ(r.body["error"]["type"], "server_error");
  stop = true;
  for (auto& t : busy) t.join();
  ASSERT_TRUE(WaitUntil([&] { return runner->Stats()["slots_busy"] == 0; }));
  EXPECT_EQ(PostJson(c, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 2}})).status, 200);
}

TEST(RunnerConcurrencyTest, LongPromptDoesNotStallRunningStreams) {
  // With a small prefill chunk, a long prompt is read over several steps while a running stream
  // keeps producing tokens: the stream finishes although the long request arrived first.
  auto runner = Runner::Start(SmallModel(), {"--parallel", "2", "--context", "4096",
                                             "--prefill-chunk", "64"});
  ASSERT_NE(runner, nullptr);
  std::string words;
  for (int i = 0; i < 600; ++i) words += "lorem ipsum ";
  std::thread long_prompt([&] {
    auto c = runner->Client();
    JsonResponse r = PostJson(c, "/v1/completions", json({{"prompt", words}, {"max_tokens", 1}}));
    EXPECT_EQ(r.status, 200) << r.raw;
  });
  auto c = runner->Client();
  StreamResult s = PostStream(c, "/v1/completions", LongStream(8));
  long_prompt.join();
  EXPECT_EQ(s.usage["completion_tokens"], 8);
  EXPECT_GT(runner->Stats()["decode_steps"].get<int>(), 600 * 2 / 64);
}

}  // namespace
}  // namespace cohost::testing
