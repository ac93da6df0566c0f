// Standby runners: a real `cohost runner --standby` process becomes the runner it is started as
// (real model, real HTTP on Unix sockets); `cohost serve --standby-runners on` starts its copies
// from standbys and keeps one ready. Waits poll with deadlines.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "agent/standby_pool.h"
#include "support/harness.h"
#include "support/serve.h"

namespace cohost::testing {
namespace {

net::Address Unix(const std::string& path) {
  net::Address a;
  a.unix_socket = path;
  return a;
}

bool Answers(const std::string& socket, const std::string& want_in_body) {
  net::HttpClient c(Unix(socket), std::chrono::seconds(2));
  auto r = c.Send("GET", "/healthz");
  return r.ok() && r->status == 200 && r->body.find(want_in_body) != std::string::npos;
}

struct Standby {
  TempDir dir;
  std::string socket = dir.File("standby.sock");
  std::unique_ptr<sys::Process> process;

  Standby() {
    auto p = sys::Process::Spawn({{COHOST_BINARY, "runner", "--standby", "--socket", socket}, dir.File("standby.log")});
    EXPECT_TRUE(p.ok());
    if (p.ok()) process = std::make_unique<sys::Process>(std::move(*p));
  }
  JsonResponse Start(const json& body) {
    net::HttpClient c(Unix(socket), std::chrono::seconds(10));
    return PostJson(c, "/standby/start", body);
  }
};

TEST(StandbyTest, BecomesTheRunnerItIsStartedAs) {
  Standby s;
  ASSERT_TRUE(s.process);
  ASSERT_TRUE(WaitUntil([&] { return Answers(s.socket, "\"standby\""); })) << ReadFile(s.dir.File("standby.log"));

  const std::string copy_socket = s.dir.File("copy.sock");
  const std::string copy_log = s.dir.File("copy.log");
  JsonResponse r = s.Start({{"args", {"runner", "--model", SmallModel(), "--socket", copy_socket, "--parallel", "1",
                                      "--context", "256", "--threads", "1"}},
                            {"log_path", copy_log}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["pid"], s.process->pid());  // the same process, not a new one

  ASSERT_TRUE(WaitUntil([&] { return Answers(copy_socket, "\"ok\""); }))
      << ReadFile(copy_log) << ReadFile(s.dir.File("standby.log"));
  net::HttpClient c(Unix(copy_socket));
  JsonResponse done = PostJson(c, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 3}, {"ignore_eos", true}}));
  EXPECT_EQ(done.status, 200) << done.raw;
  EXPECT_EQ(done.body["usage"]["completion_tokens"], 3);
  // The runner's own output went to the copy's log, with its start-up phases.
  const std::string log = ReadFile(copy_log);
  EXPECT_NE(log.find("msg=ready"), std::string::npos) << log;
  EXPECT_NE(log.find("load_s="), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(s.socket)) << "the standby's own socket is gone";
  s.process->Signal(SIGTERM);
  EXPECT_EQ(s.process->WaitFor(std::chrono::seconds(10)), 0);
}

TEST(StandbyTest, ABadStartIsRefusedAndTheStandbyKeepsWaiting) {
  Standby s;
  ASSERT_TRUE(s.process);
  ASSERT_TRUE(WaitUntil([&] { return Answers(s.socket, "\"standby\""); })) << ReadFile(s.dir.File("standby.log"));
  for (const json& bad : {json({{"args", json::array()}}), json({{"args", {"serve"}}}),
                          json({{"args", {"runner", 7}}}), json({{"args", {"runner"}}, {"log_path", 3}})}) {
    JsonResponse r = s.Start(bad);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.raw;
    EXPECT_NE(r.raw.find(bad.contains("log_path") ? "log_path" : "args"), std::string::npos) << r.raw;
  }
  EXPECT_TRUE(Answers(s.socket, "\"standby\""));
  EXPECT_FALSE(s.process->TryWait().has_value());
  // Stopped while waiting: exits cleanly.
  s.process->Signal(SIGTERM);
  EXPECT_EQ(s.process->WaitFor(std::chrono::seconds(10)), 0);
}

TEST(StandbyTest, ServeStartsCopiesFromStandbysAndKeepsOneReady) {
  TempDir dir;
  Serve serve(dir.path(), WriteInventory(dir, 1, 4096), 0, {"--standby-runners", "on"});
  ASSERT_GT(serve.port(), 0);
  ASSERT_EQ(serve.Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  ASSERT_EQ(serve.Call("POST", "/v1/inference-components", ComponentSpec("a", SmallModel(), 0.25, 2)).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return serve.ReadyCopies("a") == 2; }, std::chrono::seconds(60))) << serve.Log();
  // Both copies came from standbys: the first from the one made at start-up, the second from
  // the one that replaced it.
  JsonResponse events = serve.Call("GET", "/v1/events?limit=100");
  ASSERT_EQ(events.status, 200);
  int from_standby = 0;
  for (const json& e : events.body["events"]) {
    if (e.value("message", "").find("(a standby)") != std::string::npos) ++from_standby;
  }
  EXPECT_EQ(from_standby, 2) << events.raw;
  auto c = serve.Client();
  JsonResponse r = PostJson(c, "/v1/completions", json({{"model", "a"}, {"prompt", "hi"}, {"max_tokens", 2}}));
  EXPECT_EQ(r.status, 200) << r.raw;
  // And one more waits for the next copy.
  EXPECT_TRUE(WaitUntil([&] {
    for (const auto& f : std::filesystem::directory_iterator(dir.path() + "/run/standby")) {
      if (f.path().extension() == ".sock" && Answers(f.path().string(), "\"standby\"")) return true;
    }
    return false;
  }));
}

// The pool keeps at most one standby per device set: another environment on the same devices
// replaces it, several GPUs get none, and a take is replaced at once.
TEST(StandbyTest, PoolKeepsOneStandbyPerDeviceSet) {
  TempDir dir;
  agent::StandbyPool pool({COHOST_BINARY, dir.File("standby"), false});
  const std::vector<std::string> a = {"CUDA_VISIBLE_DEVICES="};
  const std::vector<std::string> b = {"CUDA_VISIBLE_DEVICES=", "COHOST_TEST_SHARE=25"};
  ASSERT_TRUE(pool.Want(a).ok());
  EXPECT_EQ(pool.size(), 1);
  ASSERT_TRUE(pool.Want(a).ok());  // alive: nothing new
  EXPECT_EQ(pool.size(), 1);
  ASSERT_TRUE(pool.Want(b).ok());  // same devices, another environment: replaced
  EXPECT_EQ(pool.size(), 1);
  ASSERT_TRUE(pool.Want({"CUDA_VISIBLE_DEVICES=0,1"}).ok());  // several GPUs: none
  EXPECT_EQ(pool.size(), 1);
  EXPECT_FALSE(pool.Take(a, {"runner", "--model", SmallModel()}, dir.File("x.log")).has_value());

  const std::string copy_socket = dir.File("copy.sock");
  std::optional<sys::Process> p = pool.Take(
      b, {"runner", "--model", SmallModel(), "--socket", copy_socket, "--parallel", "1", "--context", "128", "--threads", "1"},
      dir.File("copy.log"));
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(WaitUntil([&] { return Answers(copy_socket, "\"ok\""); })) << ReadFile(dir.File("copy.log"));
  EXPECT_EQ(pool.size(), 1);  // its replacement
  p->Signal(SIGTERM);
  EXPECT_EQ(p->WaitFor(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace cohost::testing
