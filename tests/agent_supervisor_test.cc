// Copy supervision with real runner processes on a real (tiny) model: a copy becomes ready, comes
// back after kill -9, fails with the runner's own error after repeated crashes, and drains without
// cutting a request in flight.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "agent/copy_supervisor.h"
#include "support/harness.h"

namespace cohost::testing {
namespace {

using agent::CopyEvent;
using agent::CopyState;
using agent::CopySupervisor;
using agent::SupervisorOptions;
using Clock = std::chrono::steady_clock;

class SupervisorTest : public ::testing::Test {
 protected:
  std::unique_ptr<CopySupervisor> Make(const std::string& model, SupervisorOptions options = {}) {
    agent::RunnerLaunch launch;
    launch.cohost_binary = COHOST_BINARY;
    launch.model_path = model;
    launch.socket_path = dir_.File("copy.sock");
    launch.log_path = dir_.File("runner.log");
    launch.alias = "tiny";
    launch.context = 2048;
    launch.parallel = 2;
    // One compute thread: on a busy machine, llama.cpp's threads spin at barriers and a
    // descheduled one stalls the others, which makes generation erratically slow.
    launch.threads = 1;
    auto s = CopySupervisor::Create("copy-1", launch, options,
                                    [this](const CopyEvent& e) { events_.push_back(e); });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Polls the supervisor (the owner's loop) until `done` or the timeout.
  bool PollUntil(CopySupervisor& s, const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    return WaitUntil([&] {
      s.Poll(Clock::now());
      return done();
    }, timeout);
  }

  bool PollUntilState(CopySupervisor& s, CopyState state) {
    return PollUntil(s, [&] { return s.state() == state; });
  }

  int Count(const std::string& reason) const {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(),
                                          [&](const CopyEvent& e) { return e.reason == reason; }));
  }

  std::string Events() const {
    std::string out;
    for (const CopyEvent& e : events_) {
      out += e.reason + " [" + agent::CopyStateName(e.state) + "] " + e.message + "\n";
    }
    return out;
  }

  std::string Log() const { return ReadFile(dir_.File("runner.log")); }

  TempDir dir_;
  std::vector<CopyEvent> events_;
};

TEST_F(SupervisorTest, ReachesReadyServesAndStops) {
  auto s = Make(SmallModel());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state(), CopyState::kPending);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  EXPECT_EQ(s->state(), CopyState::kLoading);
  EXPECT_FALSE(s->Start(Clock::now()).ok());  // once only
  ASSERT_TRUE(PollUntilState(*s, CopyState::kReady)) << Events() << Log();
  EXPECT_EQ(s->starts(), 1);

  net::HttpClient c(s->address());
  JsonResponse r = PostJson(c, "/v1/completions", json({{"prompt", "hi"}, {"max_tokens", 3}}));
  EXPECT_EQ(r.status, 200) << r.raw;

  std::optional<pid_t> pid = s->pid();
  ASSERT_TRUE(pid);
  s->Stop(Clock::now());
  EXPECT_EQ(s->state(), CopyState::kStopped);
  EXPECT_FALSE(s->pid());
  EXPECT_NE(kill(*pid, 0), 0);  // reaped: no such process
  ASSERT_GE(events_.size(), 3u) << Events();
  EXPECT_EQ(events_[0].reason, "started");
  EXPECT_EQ(events_[0].copy_id, "copy-1");
  EXPECT_EQ(events_[1].reason, "ready");
  EXPECT_EQ(events_.back().reason, "stopped");
  EXPECT_NE(events_.back().message.find("status 0"), std::string::npos) << Events();
}

TEST_F(SupervisorTest, RestartsAfterKill9) {
  SupervisorOptions o;
  o.restart.initial_backoff = std::chrono::milliseconds(50);
  auto s = Make(SmallModel(), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  ASSERT_TRUE(PollUntilState(*s, CopyState::kReady)) << Events() << Log();
  pid_t first = *s->pid();

  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(PollUntil(*s, [&] { return s->starts() == 2 && s->state() == CopyState::kReady; }))
      << Events() << Log();
  EXPECT_NE(*s->pid(), first);
  EXPECT_EQ(Count("exited"), 1) << Events();
  EXPECT_EQ(Count("restart_scheduled"), 1) << Events();
  EXPECT_EQ(Count("restarting"), 1) << Events();
  EXPECT_NE(s->last_error().find("killed by signal 9"), std::string::npos) << s->last_error();

  net::HttpClient c(s->address());
  auto health = c.Send("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  s->Stop(Clock::now());
}

TEST_F(SupervisorTest, TruncatedModelFailsAfterMaxCrashesWithTheRunnersError) {
  std::string cut = dir_.File("cut.gguf");
  std::filesystem::copy_file(SmallModel(), cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  SupervisorOptions o;
  o.restart.initial_backoff = std::chrono::milliseconds(10);
  o.restart.max_backoff = std::chrono::milliseconds(40);
  o.restart.max_crashes = 5;
  auto s = Make(cut, o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  ASSERT_TRUE(PollUntilState(*s, CopyState::kFailed)) << Events() << Log();

  EXPECT_EQ(s->starts(), 5);
  EXPECT_EQ(Count("exited"), 5) << Events();
  EXPECT_EQ(Count("ready"), 0) << Events();
  EXPECT_FALSE(s->pid());
  const CopyEvent& last = events_.back();
  EXPECT_EQ(last.reason, "failed");
  EXPECT_EQ(last.state, CopyState::kFailed);
  EXPECT_NE(last.message.find("crashed 5 times"), std::string::npos) << last.message;
  EXPECT_NE(last.message.find("exited with status 1: cannot load model:"), std::string::npos)
      << last.message;
  EXPECT_NE(last.message.find("truncated"), std::string::npos) << last.message;

  // Final: polling later changes nothing.
  s->Poll(Clock::now() + std::chrono::hours(1));
  EXPECT_EQ(s->state(), CopyState::kFailed);
  EXPECT_EQ(s->starts(), 5);
}

// A long streaming completion on its own thread, as a client of the copy would send it.
class Stream {
 public:
  Stream(const net::Address& address, int max_tokens) {
    thread_ = std::thread([this, address, max_tokens] {
      net::HttpClient c(address);
      std::string buffer;
      json body = {{"prompt", "hi"}, {"max_tokens", max_tokens}, {"ignore_eos", true},
                   {"stream", true}, {"stream_options", {{"include_usage", true}}}};
      auto r = c.SendStreaming("POST", "/v1/completions", body.dump(), [&](std::string_view piece) {
        buffer.append(piece);
        for (std::string& e : net::TakeSseEvents(buffer)) {
          if (e == "[DONE]") done_marker_ = true;
          json j = json::parse(e, nullptr, false);
          if (j.is_object() && j.contains("usage") && j["usage"].is_object()) {
            completion_tokens_ = j["usage"]["completion_tokens"].get<int>();
          }
          chunks_.fetch_add(1);
        }
        return true;
      });
      status_ = r.ok() ? r->status : -1;
      finished_ = true;
    });
  }
  ~Stream() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<int> chunks_{0};
  std::atomic<bool> finished_{false};
  // Written by the stream thread; read after Join().
  int status_ = 0;
  int completion_tokens_ = 0;
  bool done_marker_ = false;

 private:
  std::thread thread_;
};

TEST_F(SupervisorTest, DrainWaitsForAnInFlightStreamThenStops) {
  auto s = Make(SmallModel());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  ASSERT_TRUE(PollUntilState(*s, CopyState::kReady)) << Events() << Log();

  constexpr int kTokens = 300;
  Stream stream(s->address(), kTokens);
  ASSERT_TRUE(WaitUntil([&] { return stream.chunks_ > 2; }));
  s->Drain(Clock::now());
  EXPECT_EQ(s->state(), CopyState::kDraining);
  bool in_flight_at_drain = !stream.finished_;

  // While the stream runs, the copy stays draining and the runner stays up.
  int polls_while_streaming = 0;
  ASSERT_TRUE(PollUntil(*s, [&] {
    if (!stream.finished_ && s->state() == CopyState::kDraining) ++polls_while_streaming;
    return s->state() == CopyState::kStopped;
  }, std::chrono::minutes(3))) << Events();
  stream.Join();

  EXPECT_TRUE(in_flight_at_drain) << "the stream ended before the drain began; make it longer";
  EXPECT_GT(polls_while_streaming, 0);
  EXPECT_EQ(stream.status_, 200);
  EXPECT_EQ(stream.completion_tokens_, kTokens);
  EXPECT_TRUE(stream.done_marker_);
  EXPECT_EQ(Count("draining"), 1) << Events();
  EXPECT_EQ(Count("stopping"), 1) << Events();
  EXPECT_EQ(events_.back().reason, "stopped") << Events();
  EXPECT_NE(events_.back().message.find("status 0"), std::string::npos) << Events();
  EXPECT_FALSE(s->pid());
}

TEST_F(SupervisorTest, DrainDeadlineKillsABusyRunner) {
  SupervisorOptions o;
  o.drain_timeout = std::chrono::milliseconds(0);
  auto s = Make(SmallModel(), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  ASSERT_TRUE(PollUntilState(*s, CopyState::kReady)) << Events() << Log();
  Stream stream(s->address(), 1000);
  ASSERT_TRUE(WaitUntil([&] { return stream.chunks_ > 2; }));
  s->Drain(Clock::now());
  s->Poll(Clock::now());
  EXPECT_EQ(s->state(), CopyState::kStopped);
  EXPECT_EQ(events_.back().reason, "drain_deadline") << Events();
  stream.Join();
  EXPECT_NE(stream.completion_tokens_, 1000);  // cut: the deadline won
}

TEST_F(SupervisorTest, DrainBeforeReadyStopsAtOnce) {
  auto s = Make(SmallModel());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Start(Clock::now()).ok());
  s->Drain(Clock::now());
  EXPECT_EQ(s->state(), CopyState::kStopped);
  EXPECT_FALSE(s->pid());
  s->Poll(Clock::now());
  EXPECT_EQ(s->state(), CopyState::kStopped);
}

}  // namespace
}  // namespace cohost::testing
