// `cohost serve` lifecycle edges, end to end with real runners on virtual devices: deleting a
// component (routing stops at once, held requests are answered, series go), a component whose
// copies failed (requests answered at once with the reason), two servers on one data dir, copy
// ids and runner sockets across a restart, and the default CPU reservation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/serve.h"

namespace cohost::testing {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A copy of the small model (creating a component measures it, so it must be good then).
std::string FragileModel(const TempDir& dir) {
  const std::string path = dir.File("fragile.gguf");
  std::filesystem::copy_file(SmallModel(), path);
  return path;
}

// Replaces the model with a truncated one, which no runner can load.
void Break(const std::string& path) {
  const std::string bad = path + ".new";
  std::filesystem::copy_file(SmallModel(), bad);
  std::filesystem::resize_file(bad, std::filesystem::file_size(bad) / 2);
  std::filesystem::rename(bad, path);
}

class ServeLifecycleTest : public ::testing::Test {
 protected:
  void Start(const std::string& inventory) {
    serve_ = std::make_unique<Serve>(dir_.path(), inventory);
    ASSERT_GT(serve_->port(), 0) << serve_->Log();
    ASSERT_EQ(serve_->Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  }
  void SetUp() override { Start(WriteInventory(dir_, 2, 4096)); }
  void Create(const json& spec) {
    JsonResponse r = serve_->Call("POST", "/v1/inference-components", spec);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  JsonResponse Complete(const std::string& model, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto c = serve_->Client(timeout);
    return PostJson(c, "/v1/completions", {{"model", model}, {"prompt", "x"}, {"max_tokens", 2}});
  }
  bool Listed(const std::string& model) {
    JsonResponse r = serve_->Call("GET", "/v1/models");
    for (const json& m : r.body.value("data", json::array())) {
      if (m.value("id", "") == model) return true;
    }
    return false;
  }
  // A component held for a long time while it has no copy: a cold request waits for it.
  json Held(const std::string& name, const std::string& model, int copies) {
    json spec = ComponentSpec(name, model, 0.25, copies);
    spec["scaling"] = {{"hold_timeout_s", 300}, {"max_held_requests", 8}};
    return spec;
  }

  TempDir dir_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeLifecycleTest, DeletedComponentStopsRoutingAtOnceAndItsCopiesAndSeriesGo) {
  Create(ComponentSpec("gone", SmallModel(), 0.25, 1));
  ASSERT_TRUE(WaitUntil([&] { return serve_->ReadyCopies("gone") == 1; }, std::chrono::seconds(90))) << serve_->Log();
  ASSERT_EQ(Complete("gone").status, 200);
  ASSERT_EQ(serve_->Metric("cohost_copies_ready{component=\"gone\"}"), 1);
  const std::string socket = dir_.path() + "/run/gone-1.sock";
  ASSERT_TRUE(std::filesystem::exists(socket));

  JsonResponse del = serve_->Call("DELETE", "/v1/inference-components/gone");
  ASSERT_EQ(del.status, 200) << del.raw;
  // Right after the acknowledged delete: unknown to the front door.
  EXPECT_FALSE(Listed("gone"));
  JsonResponse after = Complete("gone");
  EXPECT_EQ(after.status, 404) << after.raw;
  EXPECT_NE(after.raw.find("not found"), std::string::npos) << after.raw;
  // Its copy drains and stops (socket removed), and its gauges disappear.
  EXPECT_TRUE(WaitUntil([&] {
    return serve_->Metric("cohost_copies_ready{component=\"gone\"}") == -1 &&
           serve_->Metric("cohost_copies_loading{component=\"gone\"}") == -1 && !std::filesystem::exists(socket);
  }, std::chrono::seconds(60))) << serve_->Log();
  JsonResponse events = serve_->Call("GET", "/v1/events?subject=gone");
  EXPECT_NE(events.raw.find("component deleted"), std::string::npos) << events.raw;  // gone-1's drain
}

TEST_F(ServeLifecycleTest, FailedCopiesAnswerAtOnceWithTheReasonAndDescribeShowsIt) {
  const std::string model = FragileModel(dir_);
  Create(Held("broken", model, 0));
  Break(model);
  ASSERT_EQ(serve_->Call("PATCH", "/v1/inference-components/broken", {{"copies", {{"initial", 1}}}}).status, 200);
  // The copy fails to load until the supervisor gives up.
  ASSERT_TRUE(WaitUntil([&] {
    JsonResponse d = serve_->Call("GET", "/v1/inference-components/broken");
    return d.body["status"].contains("condition") && d.body["status"]["condition"]["reason"] == "CopyFailed";
  }, std::chrono::seconds(120))) << serve_->Call("GET", "/v1/inference-components/broken").raw;
  JsonResponse describe = serve_->Call("GET", "/v1/inference-components/broken");
  EXPECT_NE(describe.body["status"]["condition"].value("message", "").find("copies failed"), std::string::npos)
      << describe.raw;

  const Clock::time_point start = Clock::now();
  JsonResponse r = Complete("broken");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_LT(Seconds(Clock::now() - start), 10.0);  // not the 300 s hold timeout
  EXPECT_NE(r.raw.find("copies failed"), std::string::npos) << r.raw;
  EXPECT_NE(r.retry_after, "");
  // The component event has its own reason, distinct from "does not fit".
  JsonResponse events = serve_->Call("GET", "/v1/events?subject=broken");
  EXPECT_NE(events.raw.find("\"CopyFailed\""), std::string::npos) << events.raw;
  EXPECT_EQ(events.raw.find("\"CopyUnplaced\""), std::string::npos) << events.raw;
  // The copies' own events are listed with the component's.
  EXPECT_NE(events.raw.find("\"broken-1\""), std::string::npos) << events.raw;
}

TEST_F(ServeLifecycleTest, DeletingAComponentInACrashLoopReleasesItsHeldRequests) {
  const std::string model = FragileModel(dir_);
  Create(Held("looping", model, 0));
  Break(model);  // the held request scales it from zero into a crash loop
  ASSERT_TRUE(WaitUntil([&] { return Listed("looping"); }));  // published to the router
  JsonResponse held;
  Clock::time_point answered;
  std::thread client([&] {
    held = Complete("looping", std::chrono::seconds(320));
    answered = Clock::now();
  });
  EXPECT_TRUE(WaitUntil([&] { return serve_->Metric("cohost_requests_held{component=\"looping\"}") == 1; }))
      << serve_->Log();
  const Clock::time_point deleted = Clock::now();
  EXPECT_EQ(serve_->Call("DELETE", "/v1/inference-components/looping").status, 200);
  client.join();
  EXPECT_EQ(held.status, 404) << held.raw;
  EXPECT_NE(held.raw.find("deleted"), std::string::npos) << held.raw;
  EXPECT_LT(Seconds(answered - deleted), 5.0);
}

TEST_F(ServeLifecycleTest, ASecondServerOnTheSameDataDirExitsAtOnceNamingTheHolder) {
  std::stringstream holder;
  holder << std::ifstream(dir_.path() + "/serve.lock").rdbuf();
  ASSERT_FALSE(holder.str().empty());
  const std::string pid = holder.str().substr(0, holder.str().find('\n'));
  const std::string log = dir_.File("second.log");
  auto second = sys::Process::Spawn({{COHOST_BINARY, "serve", "--port", "0", "--data-dir", dir_.path(), "--inventory",
                                      WriteInventory(dir_, 2, 4096), "--no-demo"},
                                     log});
  ASSERT_TRUE(second.ok());
  std::optional<int> status = second->WaitFor(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << "the second server kept running: " << ReadFile(log);
  EXPECT_NE(*status, 0);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("data dir " + dir_.path() + " is in use"), std::string::npos) << text;
  EXPECT_NE(text.find("process " + pid), std::string::npos) << text;
  EXPECT_EQ(text.find("msg=listening"), std::string::npos) << text;
  // The first one serves on.
  EXPECT_EQ(serve_->Call("GET", "/v1/endpoints").status, 200);
}

TEST_F(ServeLifecycleTest, CopyIdsContinueAfterARestartAndStaleSocketsAreCleaned) {
  Create(ComponentSpec("alpha", SmallModel(), 0.25, 1));
  ASSERT_TRUE(WaitUntil([&] { return serve_->ReadyCopies("alpha") == 1; }, std::chrono::seconds(90))) << serve_->Log();
  ASSERT_EQ(serve_->Copies("alpha")[0]["id"], "alpha-1");
  // A socket no runner listens on, as a crashed server leaves behind.
  const std::string stale = dir_.path() + "/run/alpha-7.sock";
  std::ofstream(stale) << "";
  const size_t log_size = serve_->Log().size();
  const std::string first_log = ReadFile(dir_.path() + "/run/alpha-1.log");
  serve_->Kill();
  serve_ = std::make_unique<Serve>(dir_.path(), WriteInventory(dir_, 2, 4096), log_size);
  ASSERT_GT(serve_->port(), 0) << serve_->Log();
  ASSERT_TRUE(WaitUntil([&] { return serve_->ReadyCopies("alpha") == 1; }, std::chrono::seconds(90))) << serve_->Log();
  const std::string id = serve_->Copies("alpha")[0]["id"];
  EXPECT_EQ(id, "alpha-2");  // after the highest id of the runner logs in the runtime dir
  EXPECT_FALSE(std::filesystem::exists(stale));
  // Not reused: the old log holds one load (the old runner may have added its exit lines).
  const std::string old_log = ReadFile(dir_.path() + "/run/alpha-1.log");
  EXPECT_EQ(old_log.rfind(first_log, 0), 0u) << old_log;
  EXPECT_EQ(old_log.find("loading model", old_log.find("loading model") + 1), std::string::npos) << old_log;
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/run/alpha-2.log"));
  EXPECT_EQ(Complete("alpha").status, 200);
}

class ServeCpuTest : public ServeLifecycleTest {
 protected:
  void SetUp() override {}
};

TEST_F(ServeCpuTest, ACopyReservesTheCoresItsRunnerUsesByDefault) {
  // Two cores, room for many copies on the devices, single-thread runners (--threads-per-copy 1).
  const std::string inventory = dir_.File("two-cores.json");
  std::ofstream(inventory) << json({{"devices", {{{"name", "vgpu0"}, {"memory_mib", 16384}, {"link_group", "a"}},
                                                 {{"name", "vgpu1"}, {"memory_mib", 16384}, {"link_group", "a"}}}},
                                    {"cpu_cores", 2}})
                                  .dump();
  Start(inventory);
  json spec = ComponentSpec("busy", SmallModel(), 0.25, 3);
  spec["compute"].erase("cpu_cores");
  Create(spec);
  ASSERT_TRUE(WaitUntil([&] {
    JsonResponse d = serve_->Call("GET", "/v1/inference-components/busy");
    return d.body["status"].contains("condition") && d.body["status"]["copies"].size() == 2;
  }, std::chrono::seconds(60))) << serve_->Call("GET", "/v1/inference-components/busy").raw;
  JsonResponse d = serve_->Call("GET", "/v1/inference-components/busy");
  EXPECT_EQ(d.body["status"]["condition"]["reason"], "CopyUnplaced") << d.raw;
  EXPECT_NE(d.raw.find("not enough CPU"), std::string::npos) << d.raw;
  EXPECT_EQ(d.body["compute"]["cpu_cores"], 0) << "the stored spec keeps what the user gave";
}

}  // namespace
}  // namespace cohost::testing
