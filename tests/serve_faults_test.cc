// `cohost serve` under load and under faults, end to end with real runners on virtual devices:
// scaling up and down while clients keep sending (no request may fail), runners killed in the
// middle of streams and while loading, a model file that goes bad, and bad control-API input.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "support/load.h"
#include "support/serve.h"

namespace cohost::testing {
namespace {

// Waits until `load` has answered `more` requests beyond what it had answered at the call.
bool Progress(const Load& load, int more) {
  const int target = load.ok() + more;
  return WaitUntil([&] { return load.ok() >= target || load.failed() > 0; }, std::chrono::seconds(60)) &&
         load.failed() == 0;
}

class ServeFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_ = std::make_unique<Serve>(dir_.path(), WriteInventory(dir_, 2, 4096));
    ASSERT_GT(serve_->port(), 0) << serve_->Log();
    ASSERT_EQ(serve_->Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  }
  void Create(const json& spec) {
    JsonResponse r = serve_->Call("POST", "/v1/inference-components", spec);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  void Scale(const std::string& name, int copies) {
    JsonResponse r = serve_->Call("PATCH", "/v1/inference-components/" + name,
                                  {{"copies", {{"initial", copies}}}});
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  // Ready copies == n and no other copy (loading or draining) left.
  bool Settled(const std::string& name, int n) {
    return WaitUntil([&] { return serve_->ReadyCopies(name) == n && serve_->Copies(name).size() == size_t(n); },
                     std::chrono::seconds(90));
  }

  TempDir dir_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeFaultsTest, ScalingUpAndDownUnderLoadFailsNoRequest) {
  Create(ComponentSpec("alpha", SmallModel(), 0.25, 1));
  ASSERT_TRUE(Settled("alpha", 1)) << serve_->Log();
  Load whole(*serve_, "alpha", 3, /*stream=*/false);
  Load streamed(*serve_, "alpha", 1, /*stream=*/true);
  ASSERT_TRUE(Progress(whole, 5)) << whole.failures();

  Scale("alpha", 3);
  ASSERT_TRUE(Settled("alpha", 3)) << serve_->Log();
  ASSERT_TRUE(Progress(whole, 10)) << whole.failures();
  ASSERT_TRUE(Progress(streamed, 3)) << streamed.failures();

  Scale("alpha", 1);  // two copies drain while requests keep coming
  ASSERT_TRUE(Settled("alpha", 1)) << serve_->Call("GET", "/v1/inference-components/alpha").raw;
  ASSERT_TRUE(Progress(whole, 10)) << whole.failures();
  ASSERT_TRUE(Progress(streamed, 3)) << streamed.failures();
  whole.Stop();
  streamed.Stop();
  EXPECT_EQ(whole.failed(), 0) << whole.failures();
  EXPECT_EQ(streamed.failed(), 0) << streamed.failures();
  EXPECT_GE(whole.ok() + streamed.ok(), 31);
  JsonResponse events = serve_->Call("GET", "/v1/events");
  EXPECT_NE(events.raw.find("draining"), std::string::npos) << events.raw;
}

// A long stream whose events are counted as they arrive.
struct LongStream {
  std::atomic<int> events{0};
  bool done = false;         // ended with [DONE]
  bool copy_failed = false;  // ended with the router's copy_failed error event
  std::thread thread;

  void Start(const Serve& serve) {
    thread = std::thread([this, client = serve.Client()]() mutable {
      const json body = {{"model", "alpha"}, {"prompt", "hello"}, {"max_tokens", 3000},
                         {"ignore_eos", true}, {"stream", true}};
      std::string buffer;
      // The outcome is read from the events; a cut stream may also end in a transport error.
      (void)client.SendStreaming("POST", "/v1/completions", body.dump(), [&](std::string_view piece) {
        buffer.append(piece);
        for (std::string& e : net::TakeSseEvents(buffer)) {
          ++events;
          if (e == "[DONE]") done = true;
          if (e.find("copy_failed") != std::string::npos) copy_failed = true;
        }
        return true;
      });
    });
  }
};

TEST_F(ServeFaultsTest, RunnerKilledMidStreamAndWhileLoading) {
  json spec = ComponentSpec("alpha", SmallModel(), 0.25, 2);
  spec["startup"]["context_length"] = 3072;  // streams long enough to be cut
  Create(spec);
  ASSERT_TRUE(Settled("alpha", 2)) << serve_->Log();

  Load whole(*serve_, "alpha", 2, /*stream=*/false);
  ASSERT_TRUE(Progress(whole, 4)) << whole.failures();
  std::vector<std::unique_ptr<LongStream>> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(std::make_unique<LongStream>());
    streams.back()->Start(*serve_);
  }
  ASSERT_TRUE(WaitUntil([&] {
    for (auto& s : streams) {
      if (s->events < 3) return false;
    }
    return true;
  }));
  json copies = serve_->Copies("alpha");
  ASSERT_EQ(copies.size(), 2u);
  const std::string victim = copies[0]["id"];
  ASSERT_EQ(kill(copies[0]["pid"].get<pid_t>(), SIGKILL), 0);

  int cut = 0, whole_streams = 0;
  for (auto& s : streams) {
    s->thread.join();
    cut += s->copy_failed;
    whole_streams += s->done;
    EXPECT_NE(s->copy_failed, s->done) << "a stream must end either whole or with the error event";
  }
  EXPECT_GE(cut, 1);           // the streams on the killed copy learn why they ended
  EXPECT_GE(whole_streams, 1);  // the other copy's streams are untouched
  ASSERT_TRUE(Progress(whole, 4)) << whole.failures();  // requests in flight there were retried

  // The supervisor restarts the killed runner.
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& c : serve_->Copies("alpha")) {
      if (c["id"] == victim && c["state"] == "ready" && c["starts"].get<int>() >= 2) return true;
    }
    return false;
  }, std::chrono::seconds(60))) << serve_->Copies("alpha").dump();

  // A third copy is killed while it loads; it is restarted too, and requests never notice.
  Scale("alpha", 3);
  std::string loading_id;
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& c : serve_->Copies("alpha")) {
      if (c["state"] == "loading" && c.contains("pid")) {
        loading_id = c["id"];
        kill(c["pid"].get<pid_t>(), SIGKILL);
        return true;
      }
    }
    return false;
  }));
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& c : serve_->Copies("alpha")) {
      if (c["id"] == loading_id && c["state"] == "ready" && c["starts"].get<int>() >= 2) return true;
    }
    return false;
  }, std::chrono::seconds(60))) << serve_->Copies("alpha").dump();
  ASSERT_TRUE(Progress(whole, 4)) << whole.failures();
  whole.Stop();
  EXPECT_EQ(whole.failed(), 0) << whole.failures();
  JsonResponse events = serve_->Call("GET", "/v1/events");
  EXPECT_NE(events.raw.find("killed by signal 9"), std::string::npos) << events.raw;
}

TEST_F(ServeFaultsTest, ModelThatFailsToLoadFailsOnlyThatCopy) {
  const std::string model = dir_.File("fragile.gguf");
  std::filesystem::copy_file(SmallModel(), model);
  Create(ComponentSpec("fragile", model, 0.25, 1));
  Create(ComponentSpec("steady", SmallModel(), 0.25, 1));
  ASSERT_TRUE(Settled("fragile", 1) && Settled("steady", 1)) << serve_->Log();

  // A bad file replaces the model on disk (renamed over it, as a deploy would; the running copy
  // keeps the file it mapped). The next copy cannot load it.
  const std::string bad = dir_.File("fragile.gguf.new");
  std::filesystem::copy_file(SmallModel(), bad);
  std::filesystem::resize_file(bad, std::filesystem::file_size(bad) / 2);
  std::filesystem::rename(bad, model);
  Scale("fragile", 2);
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& c : serve_->Copies("fragile")) {
      if (c["state"] == "failed") return true;
    }
    return false;
  }, std::chrono::seconds(90))) << serve_->Copies("fragile").dump();
  JsonResponse events = serve_->Call("GET", "/v1/events");
  EXPECT_NE(events.raw.find("cannot load model"), std::string::npos) << events.raw;

  // The copy that loaded before and the other component serve on.
  auto c = serve_->Client();
  for (const char* name : {"fragile", "steady"}) {
    JsonResponse r = PostJson(c, "/v1/completions", {{"model", name}, {"prompt", "x"}, {"max_tokens", 2}});
    EXPECT_EQ(r.status, 200) << name << ": " << r.raw;
  }
}

TEST_F(ServeFaultsTest, BadControlInputIsRefusedNamingTheField) {
  Create(ComponentSpec("alpha", SmallModel(), 0.25, 0));
  struct Case {
    std::string what;
    std::string method;
    std::string target;
    json body;
    int status;
    std::string param;
  };
  json unknown = ComponentSpec("beta", SmallModel(), 0.25, 1);
  unknown["colour"] = "blue";
  json negative = ComponentSpec("beta", SmallModel(), 0.25, 1);
  negative["compute"]["memory_mb"] = -5;
  json too_small = ComponentSpec("beta", SmallModel(), 0.25, 1);
  too_small["compute"]["memory_mb"] = 1;
  json no_endpoint = ComponentSpec("beta", SmallModel(), 0.25, 1);
  no_endpoint["endpoint"] = "nowhere";
  const std::vector<Case> cases = {
      {"unknown field", "POST", "/v1/inference-components", unknown, 400, "colour"},
      {"negative memory", "POST", "/v1/inference-components", negative, 400, "compute.memory_mb"},
      {"reservation below the need", "POST", "/v1/inference-components", too_small, 400, "compute.memory_mb"},
      {"missing endpoint", "POST", "/v1/inference-components", no_endpoint, 400, "endpoint"},
      {"duplicate", "POST", "/v1/inference-components", ComponentSpec("alpha", SmallModel(), 0.25, 1), 409, "name"},
      {"bad name", "POST", "/v1/endpoints", {{"name", "Not_DNS"}}, 400, "name"},
      {"bad kind", "POST", "/v1/endpoints", {{"name", "other"}, {"kind", "solo"}}, 400, "kind"},
      {"copies below zero", "PATCH", "/v1/inference-components/alpha", {{"copies", {{"initial", -1}}}}, 400,
       "copies.initial"},
      {"missing component", "PATCH", "/v1/inference-components/none", {{"priority", 1}}, 404, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    JsonResponse r = serve_->Call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.raw;
    if (!c.param.empty()) {
      EXPECT_EQ(r.body["error"]["param"], c.param) << r.raw;
    }
  }
  // Not JSON at all.
  auto client = serve_->Client();
  auto raw = client.Send("POST", "/v1/inference-components", "{not json");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 400) << raw->body;
  // Nothing was changed by any of it.
  JsonResponse list = serve_->Call("GET", "/v1/inference-components");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["inference_components"].size(), 1u) << list.raw;
}

}  // namespace
}  // namespace cohost::testing
