// `cohost serve` end to end: real runners on virtual devices, the control API, the router,
// placement and refusal, scaling, and a restart (SIGKILL) that brings everything back.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "support/serve.h"

namespace cohost::testing {
namespace {

TEST(ServeTest, ComponentsOnVirtualDevicesServeScaleAndSurviveARestart) {
  TempDir dir;
  std::string inventory = dir.File("inventory.json");
  std::ofstream(inventory) << R"({"devices": [{"name": "vgpu0", "memory_mib": 4096, "link_group": "a"},
                                              {"name": "vgpu1", "memory_mib": 4096, "link_group": "a"}],
                                  "cpu_cores": 8})";
  auto serve = std::make_unique<Serve>(dir.path(), inventory);
  ASSERT_GT(serve->port(), 0) << serve->Log();

  EXPECT_EQ(serve->Call("POST", "/v1/endpoints", {{"name", "main"}, {"routing", "random"}}).status, 201);
  JsonResponse a = serve->Call("POST", "/v1/inference-components", ComponentSpec("alpha", SmallModel(), 0.5, 2));
  ASSERT_EQ(a.status, 201) << a.raw;
  EXPECT_GT(a.body["compute"]["memory_mb"].get<int>(), 0);  // measured by the dry run
  JsonResponse b = serve->Call("POST", "/v1/inference-components", ComponentSpec("beta", SmallModel(), 1.0, 1));
  ASSERT_EQ(b.status, 201) << b.raw;
  // Too big for any device: refused at placement, reported in events, the rest serves on.
  json huge = ComponentSpec("huge", SmallModel(), 1.0, 1);
  huge["compute"]["memory_mb"] = 100000;
  ASSERT_EQ(serve->Call("POST", "/v1/inference-components", huge).status, 201);

  ASSERT_TRUE(WaitUntil([&] { return serve->ReadyCopies("alpha") == 2 && serve->ReadyCopies("beta") == 1; },
                        std::chrono::seconds(60)))
      << serve->Log();
  // The endpoint's copy choice reaches the router's view of its components.
  EXPECT_EQ(serve->Call("GET", "/v1/inference-components/alpha").body["status"]["routing"], "random");
  JsonResponse devices = serve->Call("GET", "/v1/devices");
  ASSERT_EQ(devices.status, 200);
  double reserved = 0;
  for (const auto& d : devices.body["devices"]) {
    EXPECT_TRUE(d["virtual"].get<bool>() || d["id"] == "cpu");
    // Shares of virtual devices (and the host) are bookkeeping, whatever MPS does.
    EXPECT_EQ(d["shares_enforced"], false) << d.dump();
    EXPECT_EQ(d["shares_enforcement"], d["id"] == "cpu" ? "host device" : "virtual device") << d.dump();
    reserved += d["reserved_accelerators"].get<double>();
    EXPECT_LE(d["reserved_accelerators"].get<double>(), 1.0);
  }
  EXPECT_DOUBLE_EQ(reserved, 2.0);  // two half copies + one whole copy
  ASSERT_TRUE(WaitUntil([&] {
    JsonResponse ev = serve->Call("GET", "/v1/events?subject=huge");
    return ev.raw.find("CopyUnplaced") != std::string::npos;
  })) << serve->Call("GET", "/v1/events").raw;

  // Requests route by model name.
  auto c = serve->Client();
  for (const char* model : {"alpha", "beta"}) {
    JsonResponse r = PostJson(c, "/v1/chat/completions",
                              {{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                               {"max_tokens", 4}, {"ignore_eos", true}});
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["model"], model);
  }
  JsonResponse unknown = PostJson(c, "/v1/completions", {{"model", "gamma"}, {"prompt", "x"}});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.raw.find("alpha"), std::string::npos);
  // "huge" fits on no device even when the node is empty: its requests are refused at once, with
  // the reason, not held for a copy that is not coming.
  auto asked = std::chrono::steady_clock::now();
  JsonResponse none = PostJson(c, "/v1/completions", {{"model", "huge"}, {"prompt", "x"}});
  EXPECT_EQ(none.status, 503) << none.raw;
  EXPECT_FALSE(none.retry_after.empty());
  EXPECT_NE(none.raw.find("none fits on this node's devices"), std::string::npos) << none.raw;
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(5));  // hold timeout is 60 s

  // The CLI talks to the same API: list, refuse a bad name, and scale alpha down to one copy
  // (one copy drains and stops).
  const std::string server = "127.0.0.1:" + std::to_string(serve->port());
  ExitResult list = RunCohost({"component", "list", "--server", server, "--output", "json"});
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("\"alpha\""), std::string::npos) << list.output;
  ExitResult bad = RunCohost({"endpoint", "create", "Bad_Name", "--server", server});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("name"), std::string::npos) << bad.output;
  ExitResult scale = RunCohost({"component", "update", "alpha", "--copies", "1", "--server", server});
  ASSERT_EQ(scale.status, 0) << scale.output;
  ASSERT_TRUE(WaitUntil([&] {
    JsonResponse d = serve->Call("GET", "/v1/inference-components/alpha");
    return d.body["status"]["copies"].size() == 1u && serve->ReadyCopies("alpha") == 1;
  }, std::chrono::seconds(60))) << serve->Call("GET", "/v1/inference-components/alpha").raw;

  // Kill the whole server; a new one brings every component back with its copies.
  size_t log_size = serve->Log().size();
  serve->Kill();
  serve.reset();
  auto again = std::make_unique<Serve>(dir.path(), inventory, log_size);
  ASSERT_GT(again->port(), 0) << again->Log();
  ASSERT_TRUE(WaitUntil([&] { return again->ReadyCopies("alpha") == 1 && again->ReadyCopies("beta") == 1; },
                        std::chrono::seconds(60)))
      << again->Log();
  auto c2 = again->Client();
  JsonResponse r = PostJson(c2, "/v1/completions", {{"model", "beta"}, {"prompt", "x"}, {"max_tokens", 2}});
  EXPECT_EQ(r.status, 200) << r.raw;
}

}  // namespace
}  // namespace cohost::testing
