// The router in front of real runners: pass-through of whole and streamed answers, copy choice,
// retry on a dead copy, unknown models, no ready copy, and a client hanging up mid-stream.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/http_server.h"
#include "router/copy_directory.h"
#include "router/router.h"
#include "support/harness.h"

namespace cohost::testing {
namespace {

using router::ComponentRoute;
using router::CopyEndpoint;

// A Router served by an HttpServer on a thread of the test.
class RouterProcess {
 public:
  explicit RouterProcess(router::RouterOptions options = {}) {
    directory_ = std::make_shared<router::StaticCopyDirectory>();
    router_ = std::make_shared<router::Router>(directory_, options);
    net::ServerOptions so;
    so.threads = 2;
    auto r = router_;
    auto s = net::HttpServer::Create(so, [r](net::Exchange& ex) { return r->Handle(ex); });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~RouterProcess() {
    server_->Stop();
    thread_.join();
  }
  router::StaticCopyDirectory& directory() { return *directory_; }
  router::Router& router() { return *router_; }
  net::HttpClient Client(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    net::Address a;
    a.host = "127.0.0.1";
    a.port = server_->port();
    return net::HttpClient(a, timeout);
  }
  int64_t Requests(const std::string& copy) const {
    for (const auto& c : router_->Counters())
      if (c.id == copy) return c.requests;
    return 0;
  }
  int64_t Failures(const std::string& copy) const {
    for (const auto& c : router_->Counters())
      if (c.id == copy) return c.failures;
    return 0;
  }

 private:
  std::shared_ptr<router::StaticCopyDirectory> directory_;
  std::shared_ptr<router::Router> router_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

std::vector<std::string> RunnerArgs() {
  return {"--parallel", "4", "--context", "2048", "--alias", "small"};
}

ComponentRoute RouteTo(std::vector<std::pair<std::string, net::Address>> copies) {
  ComponentRoute r;
  for (auto& [id, address] : copies) r.ready.push_back(CopyEndpoint{id, address});
  return r;
}

// An address on loopback that refuses connections (bound once, then closed).
net::Address RefusingAddress() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  net::Address out;
  out.host = "127.0.0.1";
  out.port = a.local_endpoint().port();
  return out;
}

json Completion(int max_tokens, json extra = json::object()) {
  json body = {{"model", "small"}, {"prompt", "The quick brown fox"}, {"max_tokens", max_tokens},
               {"temperature", 0}, {"ignore_eos", true}};
  body.update(extra);
  return body;
}

TEST(RouterTest, PassesAnswersThroughUnchanged) {
  auto runner = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(runner, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"a", runner->address()}}));
  auto direct = runner->Client();
  auto routed = rp.Client();

  JsonResponse d = PostJson(direct, "/v1/completions", Completion(12));
  JsonResponse r = PostJson(routed, "/v1/completions", Completion(12));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["choices"], d.body["choices"]);
  EXPECT_EQ(r.body["usage"], d.body["usage"]);
  EXPECT_EQ(r.body["model"], "small");

  json chat = {{"model", "small"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"max_tokens", 8}, {"temperature", 0}, {"ignore_eos", true}};
  JsonResponse dc = PostJson(direct, "/v1/chat/completions", chat);
  JsonResponse rc = PostJson(routed, "/v1/chat/completions", chat);
  ASSERT_EQ(rc.status, 200) << rc.raw;
  EXPECT_EQ(rc.body["choices"], dc.body["choices"]);

  json sbody = Completion(12, {{"stream", true}, {"stream_options", {{"include_usage", true}}}});
  StreamResult ds = PostStream(direct, "/v1/completions", sbody);
  StreamResult rs = PostStream(routed, "/v1/completions", sbody);
  ASSERT_EQ(rs.status, 200);
  EXPECT_EQ(rs.text, ds.text);
  EXPECT_EQ(rs.text, d.body["choices"][0]["text"].get<std::string>());
  // (Event counts may differ: the runner coalesces tokens into one event when its client lags.)
  EXPECT_EQ(rs.events.back(), "[DONE]");
  EXPECT_EQ(rs.usage, ds.usage);

  // A runner's own error passes through with its status (the keep-alive connection serves on).
  JsonResponse bad = PostJson(routed, "/v1/completions", Completion(-3));
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.body["error"]["param"], "max_tokens");
  JsonResponse again = PostJson(routed, "/v1/completions", Completion(4));
  EXPECT_EQ(again.status, 200);
  // At least the five above; a pooled connection found stale under load is retried (counted).
  EXPECT_GE(rp.Requests("a"), 5);
  EXPECT_EQ(rp.Failures("a"), 0);
}

TEST(RouterTest, LeastOutstandingSpreadsConcurrentRequests) {
  auto r1 = Runner::Start(SmallModel(), RunnerArgs());
  auto r2 = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"a", r1->address()}, {"b", r2->address()}}));
  constexpr int kClients = 8;
  std::vector<int> status(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = rp.Client(std::chrono::seconds(180));  // a loaded machine is slow, never wrong
      status[i] = PostJson(c, "/v1/completions", Completion(64)).status;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(status[i], 200) << i;
  int64_t a = rp.Requests("a"), b = rp.Requests("b");
  EXPECT_EQ(a + b, kClients);
  EXPECT_GE(a, 3) << "a=" << a << " b=" << b;
  EXPECT_GE(b, 3) << "a=" << a << " b=" << b;
  // The runners publish their counters between decode steps, so a client can hold its answer
  // a moment before its runner's /stats counts it: poll with a deadline.
  auto finished = [&] {
    return r1->Stats()["requests_finished"].get<int>() + r2->Stats()["requests_finished"].get<int>();
  };
  EXPECT_TRUE(WaitUntil([&] { return finished() == kClients; })) << finished();
  for (const auto& c : rp.router().Counters()) EXPECT_EQ(c.outstanding, 0) << c.id;
}

TEST(RouterTest, DeadCopyIsRetriedOnAnother) {
  auto live = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(live, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"dead", RefusingAddress()}, {"live", live->address()}}));
  for (int i = 0; i < 4; ++i) {
    auto c = rp.Client();
    JsonResponse r = PostJson(c, "/v1/completions", Completion(4));
    EXPECT_EQ(r.status, 200) << r.raw;
    StreamResult s = PostStream(c, "/v1/completions", Completion(4, {{"stream", true}}));
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.finish_reason, "length");
  }
  EXPECT_GE(rp.Failures("dead"), 1);
  EXPECT_EQ(rp.Failures("live"), 0);

  // Every copy dead: 503 with Retry-After, naming the failure.
  rp.directory().Set("small", RouteTo({{"dead", RefusingAddress()}}));
  auto c = rp.Client();
  JsonResponse r = PostJson(c, "/v1/completions", Completion(4));
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_FALSE(r.retry_after.empty());
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("cannot connect"), std::string::npos) << r.raw;
}

TEST(RouterTest, KilledRunnerIsRetriedEvenWithPooledConnections) {
  auto r1 = Runner::Start(SmallModel(), RunnerArgs());
  auto r2 = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"a", r1->address()}, {"b", r2->address()}}));
  auto c = rp.Client();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(PostJson(c, "/v1/completions", Completion(2)).status, 200);
  ASSERT_GE(rp.Requests("b"), 1);  // b has idle pooled connections now
  r2->process().Signal(SIGKILL);
  ASSERT_TRUE(r2->process().WaitFor(std::chrono::seconds(10)).has_value());
  for (int i = 0; i < 6; ++i) {
    JsonResponse r = PostJson(c, "/v1/completions", Completion(2));
    EXPECT_EQ(r.status, 200) << r.raw;
  }
  EXPECT_GE(rp.Failures("b"), 1);
}

TEST(RouterTest, UnknownModelIs404ListingTheAvailableOnes) {
  RouterProcess rp;
  rp.directory().Set("alpha", RouteTo({{"a", RefusingAddress()}}));
  rp.directory().Set("beta", ComponentRoute{});
  auto c = rp.Client();
  JsonResponse r = PostJson(c, "/v1/completions", {{"model", "gamma"}, {"prompt", "x"}});
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_EQ(r.body["error"]["param"], "model");
  EXPECT_EQ(r.body["error"]["code"], "model_not_found");
  std::string msg = r.body["error"]["message"];
  EXPECT_NE(msg.find("gamma"), std::string::npos) << msg;
  EXPECT_NE(msg.find("alpha, beta"), std::string::npos) << msg;

  JsonResponse missing = PostJson(c, "/v1/chat/completions", {{"messages", json::array()}});
  EXPECT_EQ(missing.status, 400) << missing.raw;
  EXPECT_EQ(missing.body["error"]["param"], "model");
  JsonResponse wrong = PostJson(c, "/v1/completions", {{"model", "alpha"}, {"stream", "yes"}});
  EXPECT_EQ(wrong.status, 400) << wrong.raw;
  EXPECT_EQ(wrong.body["error"]["param"], "stream");

  auto models = c.Send("GET", "/v1/models");
  ASSERT_TRUE(models.ok());
  json m = json::parse(models->body);
  ASSERT_EQ(m["data"].size(), 2u);
  EXPECT_EQ(m["data"][0]["id"], "alpha");
  EXPECT_EQ(m["data"][0]["state"], "ready");
  EXPECT_EQ(m["data"][1]["id"], "beta");
  EXPECT_EQ(m["data"][1]["state"], "stopped");
  auto health = c.Send("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST(RouterTest, NoReadyCopyIs503WithRetryAfter) {
  router::RouterOptions options;
  options.retry_after_loading_s = 2;
  options.retry_after_unavailable_s = 30;
  RouterProcess rp(options);
  ComponentRoute loading;
  loading.coming = 1;
  rp.directory().Set("warming", loading);
  rp.directory().Set("idle", ComponentRoute{});
  auto c = rp.Client();
  JsonResponse w = PostJson(c, "/v1/completions", {{"model", "warming"}, {"prompt", "x"}});
  EXPECT_EQ(w.status, 503) << w.raw;
  EXPECT_EQ(w.retry_after, "2");
  JsonResponse i = PostJson(c, "/v1/completions", {{"model", "idle"}, {"prompt", "x"}});
  EXPECT_EQ(i.status, 503) << i.raw;
  EXPECT_EQ(i.retry_after, "30");
  auto models = c.Send("GET", "/v1/models");
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(json::parse(models->body)["data"][1]["state"], "loading");
}

TEST(RouterTest, ComponentThatFitsNowhereIs503AtOnceAndEndsItsHolds) {
  router::RouterOptions options;
  options.retry_after_unavailable_s = 30;
  options.hold_poll = std::chrono::milliseconds(10);
  std::atomic<int> holds{0};
  options.on_hold = [&holds](const std::string&) { ++holds; };
  RouterProcess rp(options);
  ComponentRoute cold;  // at zero copies, holding requests while a copy is wanted
  cold.max_held = 4;
  cold.hold_timeout = std::chrono::seconds(120);
  rp.directory().Set("cold", cold);
  // A held request: released with 503 and the reason as soon as the wanted copy fits nowhere.
  JsonResponse held;
  std::thread waiter([&] {
    auto c = rp.Client();
    held = PostJson(c, "/v1/completions", {{"model", "cold"}, {"prompt", "x"}});
  });
  ASSERT_TRUE(WaitUntil([&] { return holds == 1; }));
  ComponentRoute full = cold;
  full.unplaced = "needs 4096 MiB on one device; the most free is 1024 MiB (vgpu0)";
  rp.directory().Set("cold", full);
  waiter.join();
  EXPECT_EQ(held.status, 503) << held.raw;
  EXPECT_EQ(held.retry_after, "30");
  EXPECT_NE(held.raw.find("most free is 1024 MiB"), std::string::npos) << held.raw;
  // A new request is not held at all.
  auto c = rp.Client(std::chrono::seconds(5));
  JsonResponse now = PostJson(c, "/v1/completions", {{"model", "cold"}, {"prompt", "x"}});
  EXPECT_EQ(now.status, 503) << now.raw;
  EXPECT_EQ(holds, 1);
}

// After a client hung up on the one request of Completion(2000) it sent through `rp`: the runner
// cancelled it (its slot free, fewer than 2000 tokens made), the router counts nothing
// outstanding, and the router serves on.
void ExpectTheOnlyRequestCancelled(Runner& runner, RouterProcess& rp) {
  ASSERT_TRUE(WaitUntil([&] {
    json s = runner.Stats();
    return s["slots_busy"] == 0 && s["requests_finished"] == 1;
  })) << runner.Stats().dump();
  EXPECT_LT(runner.Stats()["tokens_generated"].get<int>(), 2000);
  ASSERT_TRUE(WaitUntil([&] { return rp.router().Counters()[0].outstanding == 0; }));
  auto c = rp.Client();
  EXPECT_EQ(PostJson(c, "/v1/completions", Completion(3)).status, 200);
}

TEST(RouterTest, ClientHangingUpMidStreamFreesTheRunnerSlot) {
  auto runner = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(runner, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"a", runner->address()}}));
  auto c = rp.Client();
  int chunks = 0;
  auto r = c.SendStreaming("POST", "/v1/completions", Completion(2000, {{"stream", true}}).dump(),
                           [&](std::string_view) { return ++chunks < 3; });  // hang up early
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectTheOnlyRequestCancelled(*runner, rp);
}

TEST(RouterTest, ClientHangingUpBeforeAWholeAnswerCancelsItOnTheRunner) {
  auto runner = Runner::Start(SmallModel(), RunnerArgs());
  ASSERT_NE(runner, nullptr);
  RouterProcess rp;
  rp.directory().Set("small", RouteTo({{"a", runner->address()}}));
  {
    auto c = rp.Client(std::chrono::milliseconds(300));  // gives up long before the answer
    auto r = c.Send("POST", "/v1/completions", Completion(2000).dump());
    EXPECT_FALSE(r.ok() && r->status == 200);
  }  // the client's connection closes here
  ExpectTheOnlyRequestCancelled(*runner, rp);
}

}  // namespace
}  // namespace cohost::testing
