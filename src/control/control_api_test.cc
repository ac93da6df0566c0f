// The control API over real HTTP on loopback and a real SQLite store.
#include "control/control_api.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/http_client.h"
#include "store/sqlite_store.h"

namespace cohost::control {
namespace {

using json = nlohmann::json;

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteStore::Open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    ControlHooks hooks;
    hooks.now_ms = [this] { return now_ms_; };
    hooks.measure_memory_mib = [](const InferenceComponent& c) -> StatusOr<int64_t> {
      if (c.model_uri.find("missing") != std::string::npos) return NotFound("model file not found: " + c.model_uri);
      return 100 * c.startup.parallel;  // a stand-in for the dry run, deterministic
    };
    hooks.component_status = [](const std::string&) { return json{{"desired_copies", 1}}; };
    hooks.on_change = [this] { ++changes_; };
    hooks.on_component_deleted = [this](const std::string& name) { deleted_.push_back(name); };
    hooks.pending_events = [this](const store::EventQuery& q) {
      std::vector<store::Event> out;
      for (const store::Event& e : pending_) {
        if (q.subject_name.empty() || e.subject_name == q.subject_name ||
            (q.include_copies && e.subject_name.rfind(q.subject_name + "-", 0) == 0))
          out.push_back(e);
      }
      return out;
    };
    api_ = std::make_unique<ControlApi>(*store_, hooks);
    auto server = net::HttpServer::Create({}, [this](net::Exchange& ex) { return api_->Handle(ex); });
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run(); });
    net::Address a;
    a.host = "127.0.0.1";
    a.port = server_->port();
    client_ = std::make_unique<net::HttpClient>(a);
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
  }

  struct Reply {
    int status;
    json body;
  };
  Reply Call(const char* method, const std::string& target, const std::string& body = {}) {
    auto r = client_->Send(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {0, {}};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  void CreateMain() { ASSERT_EQ(Call("POST", "/v1/endpoints", R"({"name": "main"})").status, 201); }
  static std::string Component(const std::string& extra = "") {
    return R"({"name": "chat", "endpoint": "main", "model": {"uri": "/models/chat.gguf"},
               "startup": {"parallel": 2}, "copies": {"initial": 1, "max": 3})" + extra + "}";
  }

  int64_t now_ms_ = 1'000'000;
  int changes_ = 0;
  std::vector<std::string> deleted_;
  std::vector<store::Event> pending_;  // events "the store refused" (control/event_log.h)
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ControlApi> api_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::unique_ptr<net::HttpClient> client_;
};

TEST_F(ControlApiTest, EndpointsCrud) {
  CreateMain();
  Reply dup = Call("POST", "/v1/endpoints", R"({"name": "main"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.body["error"]["param"], "name");
  EXPECT_EQ(Call("POST", "/v1/endpoints", R"({"name": "Main_1"})").body["error"]["param"], "name");
  EXPECT_EQ(Call("POST", "/v1/endpoints", R"({"name": "x", "size": 3})").body["error"]["param"], "size");
  EXPECT_EQ(Call("POST", "/v1/endpoints", "{oops").body["error"]["param"], "body");
  Reply list = Call("GET", "/v1/endpoints");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["endpoints"].size(), 1u);
  EXPECT_EQ(list.body["endpoints"][0]["kind"], "shared");
  EXPECT_EQ(Call("GET", "/v1/endpoints/nope").status, 404);
  EXPECT_EQ(Call("DELETE", "/v1/endpoints/main").status, 200);
  EXPECT_EQ(Call("GET", "/v1/endpoints/main").status, 404);
}

TEST_F(ControlApiTest, ComponentMemoryDefaultsToTheMeasuredNeed) {
  CreateMain();
  Reply r = Call("POST", "/v1/inference-components", Component());
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["compute"]["memory_mb"], 200);
  Reply d = Call("GET", "/v1/inference-components/chat");
  EXPECT_EQ(d.body["status"]["desired_copies"], 1);
  EXPECT_EQ(d.body["copies"]["max"], 3);
}

TEST_F(ControlApiTest, ReservationBelowTheNeedIsRefusedWithBothNumbers) {
  CreateMain();
  Reply r = Call("POST", "/v1/inference-components", Component(R"(, "compute": {"memory_mb": 150})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "compute.memory_mb");
  std::string msg = r.body["error"]["message"];
  EXPECT_NE(msg.find("150"), std::string::npos) << msg;
  EXPECT_NE(msg.find("200"), std::string::npos) << msg;
  EXPECT_EQ(Call("POST", "/v1/inference-components", Component(R"(, "compute": {"memory_mb": 300})")).status, 201);
}

TEST_F(ControlApiTest, BadComponentsNameTheField) {
  CreateMain();
  struct Case { std::string body; int status; const char* param; };
  const Case cases[] = {
      {R"({"name": "chat", "endpoint": "other", "model": {"uri": "/m.gguf"}})", 400, "endpoint"},
      {R"({"name": "Chat", "endpoint": "main", "model": {"uri": "/m.gguf"}})", 400, "name"},
      {R"({"name": "chat", "endpoint": "main", "model": {"uri": "/missing.gguf"}})", 400, "model.uri"},
      {R"({"name": "chat", "endpoint": "main", "model": {"uri": "/m.gguf"}, "gpus": 2})", 400, "gpus"},
      {R"({"name": "chat", "endpoint": "main", "model": {"uri": "/m.gguf"}, "compute": {"memory_mb": -1}})", 400, "compute.memory_mb"},
      {R"({"name": "chat", "endpoint": "main"})", 400, "model.uri"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Reply r = Call("POST", "/v1/inference-components", c.body);
    EXPECT_EQ(r.status, c.status) << r.body.dump();
    EXPECT_EQ(r.body["error"]["param"], c.param) << r.body.dump();
  }
  ASSERT_EQ(Call("POST", "/v1/inference-components", Component()).status, 201);
  Reply dup = Call("POST", "/v1/inference-components", Component());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.body["error"]["param"], "name");
}

TEST_F(ControlApiTest, UpdateUsesRevisionsAndRemeasures) {
  CreateMain();
  Reply created = Call("POST", "/v1/inference-components", Component());
  int64_t rev = created.body["revision"];
  Reply up = Call("PATCH", "/v1/inference-components/chat", R"({"copies": {"initial": 2}, "priority": 80})");
  ASSERT_EQ(up.status, 200) << up.body.dump();
  EXPECT_EQ(up.body["copies"]["initial"], 2);
  EXPECT_GT(up.body["revision"].get<int64_t>(), rev);
  EXPECT_EQ(up.body["status"]["desired_copies"], 1);  // the live status, as describe shows it
  Reply stale = Call("PATCH", "/v1/inference-components/chat",
                     json({{"priority", 10}, {"revision", rev}}).dump());
  EXPECT_EQ(stale.status, 409) << stale.body.dump();
  Reply grow = Call("PATCH", "/v1/inference-components/chat", R"({"startup": {"parallel": 4}})");
  ASSERT_EQ(grow.status, 200);
  EXPECT_EQ(grow.body["compute"]["memory_mb"], 400);  // re-measured for 4 slots
  EXPECT_EQ(Call("PATCH", "/v1/inference-components/chat", R"({"endpoint": "x"})").body["error"]["param"], "endpoint");
  EXPECT_EQ(Call("PATCH", "/v1/inference-components/none", R"({"priority": 1})").status, 404);
}

TEST_F(ControlApiTest, ScalingFieldsAreAcceptedReturnedAndUpdated) {
  CreateMain();
  Reply r = Call("POST", "/v1/inference-components", Component(R"(, "scaling": {"target": 2,
      "stabilization_window_s": 5, "max_held_requests": 8, "hold_timeout_s": 30})"));
  ASSERT_EQ(r.status, 201) << r.body.dump();
  EXPECT_EQ(r.body["scaling"]["target"], 2);
  EXPECT_EQ(r.body["scaling"]["stabilization_window_s"], 5);
  EXPECT_EQ(r.body["scaling"]["max_held_requests"], 8);
  EXPECT_EQ(r.body["scaling"]["hold_timeout_s"], 30);
  Reply up = Call("PATCH", "/v1/inference-components/chat",
                  R"({"scaling": {"steps": [{"lower": 3, "adjustment": 1}, {"lower": 0, "upper": 1, "adjustment": -1}]}})");
  ASSERT_EQ(up.status, 200) << up.body.dump();  // now step scaling: steps sorted, no target
  EXPECT_EQ(up.body["scaling"]["steps"].size(), 2u);
  EXPECT_EQ(up.body["scaling"]["steps"][0]["adjustment"], -1);
  EXPECT_FALSE(up.body["scaling"].contains("target"));
  Reply d = Call("GET", "/v1/inference-components/chat");
  EXPECT_EQ(d.body["scaling"]["hold_timeout_s"], 30);  // untouched by the patch
  Reply both = Call("PATCH", "/v1/inference-components/chat",
                    R"({"scaling": {"target": 3, "steps": [{"lower": 0, "adjustment": 1}]}})");
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(both.body["error"]["param"], "scaling.steps");
  Reply bad = Call("PATCH", "/v1/inference-components/chat", R"({"scaling": {"hold_timeout_s": 0}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["param"], "scaling.hold_timeout_s");
}

TEST_F(ControlApiTest, DeletingAnEndpointWithComponentsIsRefused) {
  CreateMain();
  ASSERT_EQ(Call("POST", "/v1/inference-components", Component()).status, 201);
  Reply r = Call("DELETE", "/v1/endpoints/main");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("chat"), std::string::npos);
  EXPECT_EQ(Call("DELETE", "/v1/inference-components/chat").status, 200);
  EXPECT_EQ(Call("DELETE", "/v1/endpoints/main").status, 200);
}

TEST_F(ControlApiTest, EventsRecordEveryChange) {
  CreateMain();
  now_ms_ += 5;
  ASSERT_EQ(Call("POST", "/v1/inference-components", Component()).status, 201);
  ASSERT_EQ(Call("DELETE", "/v1/inference-components/chat").status, 200);
  Reply all = Call("GET", "/v1/events");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(all.body["events"].size(), 3u);
  EXPECT_EQ(all.body["events"][1]["reason"], "Created");
  EXPECT_EQ(all.body["events"][1]["time_ms"], 1'000'005);
  Reply chat = Call("GET", "/v1/events?subject=chat&limit=1");
  ASSERT_EQ(chat.body["events"].size(), 1u);
  EXPECT_EQ(chat.body["events"][0]["reason"], "Deleted");
  EXPECT_EQ(Call("GET", "/v1/events?limit=-3").body["error"]["param"], "limit");
  EXPECT_EQ(changes_, 3);
}

TEST_F(ControlApiTest, UnknownMethodsAndPaths) {
  EXPECT_EQ(Call("PUT", "/v1/endpoints").status, 405);
  EXPECT_EQ(Call("POST", "/v1/devices").status, 405);
  EXPECT_EQ(Call("GET", "/v1/devices").body["devices"].size(), 0u);
  EXPECT_TRUE(ControlApi::Owns("/v1/inference-components/x?y=1"));
  EXPECT_FALSE(ControlApi::Owns("/v1/chat/completions"));
}

TEST_F(ControlApiTest, DeleteTellsTheHookAndEventsIncludeCopiesAndPendingOnes) {
  CreateMain();
  ASSERT_EQ(Call("POST", "/v1/inference-components", Component()).status, 201);
  ASSERT_TRUE(store_->AppendEvent({0, now_ms_, "copy", "chat-1", "CopyPlaced", "placed"}).ok());
  ASSERT_TRUE(store_->AppendEvent({0, now_ms_, "copy", "chatty-1", "CopyPlaced", "another's"}).ok());
  pending_.push_back({0, now_ms_, "copy", "chat-1", "exited", "written later"});
  Reply events = Call("GET", "/v1/events?subject=chat");
  ASSERT_EQ(events.status, 200);
  std::vector<std::string> seen;
  for (const json& e : events.body["events"]) seen.push_back(e["name"].get<std::string>() + ":" + e["reason"].get<std::string>());
  EXPECT_EQ(seen, (std::vector<std::string>{"chat:Created", "chat-1:CopyPlaced", "chat-1:exited"}));
  EXPECT_TRUE(events.body["events"].back()["sequence"].is_null());
  EXPECT_EQ(events.body["events"].back()["pending"], true);

  EXPECT_TRUE(deleted_.empty());
  ASSERT_EQ(Call("DELETE", "/v1/inference-components/chat").status, 200);
  EXPECT_EQ(deleted_, (std::vector<std::string>{"chat"}));
  EXPECT_EQ(Call("DELETE", "/v1/inference-components/chat").status, 404);
  EXPECT_EQ(deleted_.size(), 1u);  // only acknowledged deletes
}

TEST_F(ControlApiTest, PutIsNotPatchAndA405ListsTheAllowedMethods) {
  CreateMain();
  ASSERT_EQ(Call("POST", "/v1/inference-components", Component()).status, 201);
  auto r = client_->Send("PUT", "/v1/inference-components/chat", R"({"priority": 10})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  std::string allow;
  for (const auto& [k, v] : r->headers)
    if (k == "Allow") allow = v;
  EXPECT_EQ(allow, "GET, PATCH, DELETE");
  EXPECT_NE(Call("GET", "/v1/inference-components/chat").body.value("priority", 0), 10);
}

TEST_F(ControlApiTest, InvalidUtf8IsABadRequestNamingTheBody) {
  auto r = Call("POST", "/v1/endpoints", "{\"name\": \"m\xff\"}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "body");
}

}  // namespace
}  // namespace cohost::control
