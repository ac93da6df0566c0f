// Autoscaling end to end: `cohost serve` with real runners on virtual devices. A burst of
// concurrent clients grows a component's copies to its target; when it stops they shrink to min
// and, with min 0, to zero; the first request after that is held and served; with the devices
// full, a high-priority cold request evicts an idle low-priority copy, and one of equal priority
// reclaims an idle copy (never a busy one). No accepted request fails.
// Short cooldowns and windows keep each test to tens of seconds; every wait polls with a deadline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "support/load.h"
#include "support/serve.h"

namespace cohost::testing {
namespace {

using ::testing::HasSubstr;

class AutoscaleTest : public ::testing::Test {
 protected:
  void Start(int devices, int memory_mib) {
    serve_ = std::make_unique<Serve>(dir_.path(), WriteInventory(dir_, devices, memory_mib));
    ASSERT_GT(serve_->port(), 0) << serve_->Log();
    ASSERT_EQ(serve_->Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  }
  void Create(const json& spec) {
    JsonResponse r = serve_->Call("POST", "/v1/inference-components", spec);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  json Status(const std::string& name) { return serve_->Call("GET", "/v1/inference-components/" + name).body["status"]; }
  // Exactly n copies, all ready (none loading or draining), within the deadline.
  bool Settled(const std::string& name, int n, std::chrono::seconds deadline = std::chrono::seconds(120)) {
    return WaitUntil([&] { return serve_->ReadyCopies(name) == n && serve_->Copies(name).size() == size_t(n); },
                     deadline);
  }
  JsonResponse Complete(const std::string& model) {
    auto client = serve_->Client(std::chrono::seconds(120));
    return PostJson(client, "/v1/completions",
                    {{"model", model}, {"prompt", "hi"}, {"max_tokens", 4}, {"ignore_eos", true}});
  }
  // The value of one series ("name{labels}") in /metrics, or -1 when it is absent.
  double MetricValue(const std::string& series) {
    std::string text = Metrics();
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
  std::string Metrics() {
    auto r = serve_->Client().Send("GET", "/metrics", "");
    return r.ok() ? r->body : "";
  }
  std::string Events() { return serve_->Call("GET", "/v1/events").raw; }
  std::string AllEvents() { return serve_->Call("GET", "/v1/events?limit=10000").raw; }

  TempDir dir_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(AutoscaleTest, BurstScalesOutThenInToMinThenToZeroAndAColdRequestIsServed) {
  Start(2, 4096);
  json spec = ComponentSpec("alpha", SmallModel(), 0.25, 1);
  spec["copies"] = {{"initial", 1}, {"min", 1}, {"max", 3}};
  spec["scaling"] = {{"target", 1}, {"scale_out_cooldown_s", 0}, {"scale_in_cooldown_s", 2},
                     {"stabilization_window_s", 2}, {"scale_to_zero_after_s", 3}, {"hold_timeout_s", 120}};
  Create(spec);
  ASSERT_TRUE(Settled("alpha", 1)) << serve_->Log();

  // Four clients at a target of one concurrent request per copy: out to max (3).
  Load burst(*serve_, "alpha", 4, /*stream=*/false, /*max_tokens=*/24);
  ASSERT_TRUE(Settled("alpha", 3)) << Status("alpha").dump() << "\n" << Events();
  EXPECT_EQ(Status("alpha")["desired_copies"], 3);
  const int before = burst.ok();
  ASSERT_TRUE(WaitUntil([&] { return burst.ok() >= before + 6 || burst.failed() > 0; }, std::chrono::seconds(120)));
  burst.Stop();
  EXPECT_EQ(burst.failed(), 0) << burst.failures();
  EXPECT_THAT(Events(), HasSubstr("ScaledOut"));

  // Idle: in to min (1) after the window and cooldown; never to zero while min is 1.
  ASSERT_TRUE(Settled("alpha", 1)) << Status("alpha").dump() << "\n" << Events();
  EXPECT_THAT(Events(), HasSubstr("ScaledIn"));

  // With min 0, idle for scale_to_zero_after_s: zero copies.
  JsonResponse patch = serve_->Call("PATCH", "/v1/inference-components/alpha", {{"copies", {{"min", 0}}}});
  ASSERT_EQ(patch.status, 200) << patch.raw;
  ASSERT_TRUE(Settled("alpha", 0)) << Status("alpha").dump() << "\n" << Events();
  EXPECT_EQ(Status("alpha")["desired_copies"], 0);

  // The first request after that is held while a copy loads, then served.
  JsonResponse cold = Complete("alpha");
  ASSERT_EQ(cold.status, 200) << cold.raw;
  EXPECT_EQ(cold.body["usage"]["completion_tokens"], 4);
  std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("cohost_requests_held_total{component=\"alpha\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("cohost_requests_total{component=\"alpha\",outcome=\"ok\"}"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("outcome=\"hold_timeout\"")));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("outcome=\"error\"")));
  EXPECT_THAT(metrics, HasSubstr("# TYPE cohost_time_to_first_token_seconds histogram"));
  EXPECT_THAT(metrics, HasSubstr("cohost_device_memory_reserved_bytes{device=\"vgpu0\",virtual=\"true\"}"));
  EXPECT_EQ(serve_->ReadyCopies("alpha"), 1);
  // The runner's own numbers, scraped from its /stats about once a second.
  EXPECT_TRUE(WaitUntil([&] { return Metrics().find("cohost_copy_slots{component=\"alpha\"") != std::string::npos; }))
      << Metrics();
  EXPECT_THAT(Metrics(), HasSubstr("cohost_copy_kv_cells_used{component=\"alpha\""));
  EXPECT_THAT(Metrics(), HasSubstr("cohost_copy_load_bytes_total{component=\"alpha\"}"));
  EXPECT_THAT(Metrics(), HasSubstr("cohost_copy_load_seconds_count{component=\"alpha\"}"));

  // Tokens come from the runner's counters, so a streamed answer counts as a whole one does;
  // memory in use is measured (the runner process's VmRSS, on virtual devices).
  const std::string generated = "cohost_generated_tokens_total{component=\"alpha\"}";
  EXPECT_TRUE(WaitUntil([&] { return MetricValue(generated) >= 4; })) << Metrics();
  const double tokens_before = MetricValue(generated);
  net::HttpClient client = serve_->Client();
  StreamResult streamed = PostStream(client, "/v1/completions",
                                     {{"model", "alpha"}, {"prompt", "Hello"}, {"max_tokens", 7},
                                      {"ignore_eos", true}, {"stream", true}});
  ASSERT_EQ(streamed.status, 200);
  EXPECT_TRUE(WaitUntil([&] { return MetricValue(generated) >= tokens_before + 7; })) << Metrics();
  EXPECT_GT(MetricValue("cohost_prompt_tokens_total{component=\"alpha\"}"), 0);
  double used = MetricValue("cohost_device_memory_used_bytes{device=\"vgpu0\",virtual=\"true\"}") +
                MetricValue("cohost_device_memory_used_bytes{device=\"vgpu1\",virtual=\"true\"}");
  EXPECT_GT(used, 1 << 20) << Metrics();
}

TEST_F(AutoscaleTest, HighPriorityColdRequestEvictsAnIdleLowPriorityCopy) {
  Start(1, 4096);
  json low = ComponentSpec("low", SmallModel(), 1, 1);
  low["priority"] = 10;
  low["scaling"] = {{"hold_timeout_s", 2}};
  Create(low);
  ASSERT_TRUE(Settled("low", 1)) << serve_->Log();
  json high = ComponentSpec("high", SmallModel(), 1, 0);
  high["priority"] = 90;
  high["scaling"] = {{"hold_timeout_s", 120}};
  Create(high);
  // The one device is taken by low: high cannot start without an eviction, and nothing asks yet.
  // (The router knows a component once the control loop has published it.)
  ASSERT_TRUE(WaitUntil([&] {
    auto m = serve_->Client().Send("GET", "/v1/models", "");
    return m.ok() && m->body.find("\"high\"") != std::string::npos;
  }));
  EXPECT_EQ(serve_->ReadyCopies("high"), 0);

  JsonResponse r = Complete("high");
  ASSERT_EQ(r.status, 200) << r.raw << "\n" << Events();
  EXPECT_EQ(serve_->ReadyCopies("high"), 1);
  EXPECT_THAT(Events(), HasSubstr("CopyEvicted"));
  // The evicted component stays down (its desired count dropped), rather than fighting back.
  ASSERT_TRUE(Settled("low", 0)) << Status("low").dump();
  EXPECT_EQ(Status("low")["desired_copies"], 0);
  EXPECT_THAT(Metrics(), HasSubstr("cohost_evictions_total{component=\"low\"} 1\n"));

  // A lower-priority request cannot evict the higher-priority copy: it is held until its
  // timeout (2 s), then refused with Retry-After.
  auto held_from = std::chrono::steady_clock::now();
  JsonResponse refused = Complete("low");
  EXPECT_LT(std::chrono::steady_clock::now() - held_from, std::chrono::seconds(30));
  EXPECT_EQ(refused.status, 503) << refused.raw;
  EXPECT_FALSE(refused.retry_after.empty());
  EXPECT_EQ(serve_->ReadyCopies("high"), 1);
}

// Issue 13: one device shared by big (2 copies, max 4), tiny and lazy (at zero), all of priority
// 50. A burst scales big out into the room lazy left; a request for lazy is then served by
// reclaiming one of big's idle extra copies, long before big's 120 s scale-in cooldown, while a
// copy serving requests is never taken, and big does not take the room back.
TEST_F(AutoscaleTest, AColdRequestReclaimsAnIdleCopyOfEqualPriority) {
  Start(1, 4096);
  json big = ComponentSpec("big", SmallModel(), 0.2, 2);
  big["copies"] = {{"initial", 2}, {"min", 1}, {"max", 4}};
  // reclaim_after_idle_s 1: while big is busy its copies are never idle that long, though one
  // may sit between two requests for an instant at some tick (a threshold of 0 made this test
  // flaky: a copy seen idle between requests was taken).
  big["scaling"] = {{"target", 1}, {"scale_out_cooldown_s", 0}, {"scale_in_cooldown_s", 120},
                    {"stabilization_window_s", 60}, {"reclaim_after_idle_s", 1}};
  Create(big);
  json tiny = ComponentSpec("tiny", SmallModel(), 0.2, 1);
  tiny["copies"] = {{"initial", 1}, {"min", 1}, {"max", 1}};
  Create(tiny);
  json lazy = ComponentSpec("lazy", SmallModel(), 0.2, 0);
  // reclaim_after_idle_s 0: only "reclaim is for a component with no copy" keeps big from taking
  // lazy's copy back below.
  lazy["scaling"] = {{"hold_timeout_s", 60}, {"reclaim_after_idle_s", 0}};
  Create(lazy);
  ASSERT_TRUE(Settled("big", 2) && Settled("tiny", 1)) << serve_->Log();

  // A burst scales big out to 4 copies: with tiny's, the device's whole share.
  auto burst = std::make_unique<Load>(*serve_, "big", 16, /*stream=*/false, /*max_tokens=*/24);
  ASSERT_TRUE(Settled("big", 4)) << Status("big").dump() << "\n" << AllEvents();

  // Control: while every copy of big serves requests, a request for lazy is held and none of
  // big's copies is taken. Its client gives up after 3 s (which ends the hold).
  const int served_before = burst->ok();
  const json ask = {{"model", "lazy"}, {"prompt", "hi"}, {"max_tokens", 4}};
  net::HttpClient impatient = serve_->Client(std::chrono::seconds(3));
  auto gave_up = impatient.Send("POST", "/v1/completions", ask.dump());
  EXPECT_FALSE(gave_up.ok()) << gave_up->status << " " << gave_up->body;
  const std::string held = "cohost_requests_held{component=\"lazy\"}";
  EXPECT_TRUE(WaitUntil([&] { return MetricValue(held) == 0; })) << Metrics();
  EXPECT_GT(burst->ok(), served_before);  // big was serving all along
  EXPECT_THAT(AllEvents(), ::testing::Not(HasSubstr("CopyEvicted")));
  EXPECT_EQ(serve_->ReadyCopies("big"), 4);
  burst->Stop();
  EXPECT_EQ(burst->failed(), 0) << burst->failures();

  // Big idle, with an idle time to wait for: the next request for lazy reclaims one of big's
  // copies and is served in seconds, not after big's scale-in cooldown.
  JsonResponse patch = serve_->Call("PATCH", "/v1/inference-components/big",
                                    {{"scaling", {{"reclaim_after_idle_s", 2}}}});
  ASSERT_EQ(patch.status, 200) << patch.raw;
  const auto asked = std::chrono::steady_clock::now();
  JsonResponse served = Complete("lazy");
  ASSERT_EQ(served.status, 200) << served.raw << "\n" << AllEvents();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  std::string events = AllEvents();
  EXPECT_THAT(events, HasSubstr("CopyEvicted"));
  EXPECT_THAT(events,
              HasSubstr("(big, priority 50) for lazy (priority 50, cold): equal priority, idle"));
  EXPECT_THAT(events, HasSubstr("(reclaim after 2 s); big keeps 3 copies (min 1)"));
  EXPECT_THAT(Metrics(), HasSubstr("cohost_evictions_total{component=\"big\"} 1\n"));
  EXPECT_EQ(serve_->ReadyCopies("lazy"), 1);
  // Big's desired count dropped by one and stays there: it does not scale back out into the room.
  ASSERT_TRUE(Settled("big", 3)) << Status("big").dump();
  EXPECT_EQ(Status("big")["desired_copies"], 3);

  // Another burst makes big want 4 copies again; it has copies, so it does not reclaim lazy's
  // (idle) one: its fourth copy stays unplaced and lazy keeps serving.
  burst = std::make_unique<Load>(*serve_, "big", 16, /*stream=*/false, /*max_tokens=*/24);
  ASSERT_TRUE(WaitUntil([&] {
    std::string big_events = serve_->Call("GET", "/v1/events?subject=big").raw;
    return big_events.find("CopyUnplaced") != std::string::npos;
  })) << AllEvents();
  const int again = burst->ok();
  ASSERT_TRUE(WaitUntil([&] { return burst->ok() >= again + 32 || burst->failed() > 0; }));
  burst->Stop();
  EXPECT_EQ(burst->failed(), 0) << burst->failures();
  EXPECT_EQ(serve_->ReadyCopies("lazy"), 1);
  EXPECT_EQ(serve_->ReadyCopies("big"), 3);
  EXPECT_THAT(Metrics(), ::testing::Not(HasSubstr("cohost_evictions_total{component=\"lazy\"}")));
  JsonResponse warm = Complete("lazy");
  EXPECT_EQ(warm.status, 200) << warm.raw;
}

}  // namespace
}  // namespace cohost::testing
