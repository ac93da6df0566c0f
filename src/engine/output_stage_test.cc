// OutputStage tests with a real (tiny, synthetic) model's vocabulary and the stage's real thread.
// Waits are on condition variables or polls with a deadline; nothing sleeps a fixed time.
#include "engine/output_stage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/llama_runtime.h"
#include "engine/model.h"
#include "engine/synthetic_model.h"

namespace cohost::engine {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kTimeout(30);

// Collects one request's events; can block the stage thread at its first event until released.
class Events {
 public:
  EventCallback Callback() {
    return [this](const GenerationEvent& e) {
      std::unique_lock<std::mutex> l(mu_);
      if (e.kind == GenerationEvent::Kind::kText) {
        EXPECT_EQ(finished_, 0) << "text after the finish event";
        text_ += e.text;
      } else {
        last_ = e;
        ++finished_;
      }
      ++count_;
      cv_.notify_all();
      if (hold_ && count_ == 1) {
        held_ = true;
        cv_.notify_all();
        cv_.wait_for(l, kTimeout, [this] { return released_; });
      }
    };
  }
  void HoldFirst() { hold_ = true; }
  bool WaitHeld() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kTimeout, [this] { return held_; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitFinished() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kTimeout, [this] { return finished_ > 0; });
  }
  std::string text() {
    std::lock_guard<std::mutex> l(mu_);
    return text_;
  }
  GenerationEvent last() {
    std::lock_guard<std::mutex> l(mu_);
    return last_;
  }
  int finished() {
    std::lock_guard<std::mutex> l(mu_);
    return finished_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  GenerationEvent last_;
  int finished_ = 0;
  int count_ = 0;
  bool hold_ = false;
  bool held_ = false;
  bool released_ = false;
};

OutputRecord Begin(uint64_t id, Events& ev, std::vector<std::string> stop = {}) {
  OutputRecord r;
  r.kind = OutputRecord::Kind::kBegin;
  r.id = id;
  r.begin = std::make_unique<OutputRequest>();
  r.begin->on_event = ev.Callback();
  r.begin->stop = std::move(stop);
  r.begin->prompt_tokens = 3;
  r.begin->submitted_us = 1000;
  r.begin->admitted_us = 3000;
  return r;
}

OutputRecord TokenRecord(uint64_t id, Token t, int64_t time_us) {
  OutputRecord r;
  r.kind = OutputRecord::Kind::kToken;
  r.id = id;
  r.token = t;
  r.time_us = time_us;
  return r;
}

OutputRecord FinishRecord(uint64_t id, FinishReason reason) {
  OutputRecord r;
  r.kind = OutputRecord::Kind::kFinish;
  r.id = id;
  r.finish = reason;
  return r;
}

std::vector<OutputRecord> One(OutputRecord r) {
  std::vector<OutputRecord> v;
  v.push_back(std::move(r));
  return v;
}

class OutputStageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InitLlamaRuntime(false);
    char tmpl[] = "/tmp/cohost_output_stage_test_XXXXXX";
    if (!mkdtemp(tmpl)) return;
    dir_ = new std::string(tmpl);
    SyntheticModelOptions o;
    o.shape.n_embd = 64;
    o.shape.n_layer = 1;
    o.shape.n_head = 4;
    o.shape.n_head_kv = 4;
    o.shape.n_ff = 128;
    o.vocab_path = DefaultVocabPath();
    const std::string path = *dir_ + "/m.gguf";
    if (o.vocab_path.empty() || !WriteSyntheticModel(o, path).ok()) return;
    ModelOptions mo;
    mo.path = path;
    auto m = Model::Load(mo);
    if (m.ok()) model_ = std::move(m).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
    if (dir_) std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(model_, nullptr) << "no test model"; }

  // The tokens of `text` without BOS, and their pieces joined (what the stage will emit).
  static std::vector<Token> Tokens(const std::string& text) {
    std::vector<Token> out;
    StatusOr<std::vector<Token>> all = model_->Tokenize(text);
    EXPECT_TRUE(all.ok());
    if (!all.ok()) return out;
    for (Token t : *all) {
      if (!model_->TokenPiece(t).empty()) out.push_back(t);
    }
    return out;
  }
  static std::string Pieces(const std::vector<Token>& tokens) {
    std::string s;
    for (Token t : tokens) s += model_->TokenPiece(t);
    return s;
  }

  static std::string* dir_;
  static Model* model_;
};

std::string* OutputStageTest::dir_ = nullptr;
Model* OutputStageTest::model_ = nullptr;

TEST_F(OutputStageTest, TokensBecomeTextThenOneFinish) {
  OutputStage stage(*model_, 2);
  Events ev;
  const std::vector<Token> tokens = Tokens("hello brave new world");
  ASSERT_GE(tokens.size(), 3u);
  stage.Post(One(Begin(7, ev)));
  std::vector<OutputRecord> step;
  for (size_t i = 0; i < tokens.size(); ++i) step.push_back(TokenRecord(7, tokens[i], 5000 + 1000 * i));
  stage.Post(std::move(step));
  OutputRecord fin = FinishRecord(7, FinishReason::kLength);
  fin.first_token_us = 5000;
  stage.Post(One(std::move(fin)));
  ASSERT_TRUE(ev.WaitFinished());
  EXPECT_EQ(ev.text(), Pieces(tokens));
  const GenerationEvent f = ev.last();
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_EQ(f.completion_tokens, static_cast<int>(tokens.size()));
  EXPECT_EQ(f.prompt_tokens, 3);
  EXPECT_DOUBLE_EQ(f.queue_ms, 2.0);   // admitted 3000 - submitted 1000 us
  EXPECT_DOUBLE_EQ(f.prompt_ms, 2.0);  // first token 5000 - admitted 3000 us
  stage.Close();
  EXPECT_EQ(stage.requests_finished(), 1);
  EXPECT_EQ(stage.tokens_generated(), static_cast<int64_t>(tokens.size()));
  EXPECT_EQ(stage.prompt_tokens(), 3);
  EXPECT_TRUE(stage.TakeStopped().empty());
}

TEST_F(OutputStageTest, StopStringFinishesHereReportsTheIdAndDropsTheRest) {
  OutputStage stage(*model_, 2);
  Events ev, other;
  const std::vector<Token> tokens = Tokens("alpha beta gamma delta");
  ASSERT_GE(tokens.size(), 4u);
  const std::string all = Pieces(tokens);
  const std::string stop = "gamma";
  ASSERT_NE(all.find(stop), std::string::npos) << all;
  std::vector<OutputRecord> step;
  step.push_back(Begin(1, ev, {stop}));
  step.push_back(Begin(2, other));
  stage.Post(std::move(step));
  // The inference thread does not know about the stop yet: it sends every token, then a finish.
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<OutputRecord> s;
    s.push_back(TokenRecord(1, tokens[i], 10 + i));
    s.push_back(TokenRecord(2, tokens[i], 10 + i));
    stage.Post(std::move(s));
  }
  stage.Post(One(FinishRecord(1, FinishReason::kLength)));
  stage.Post(One(FinishRecord(2, FinishReason::kLength)));
  ASSERT_TRUE(ev.WaitFinished());
  ASSERT_TRUE(other.WaitFinished());
  stage.Close();
  EXPECT_EQ(ev.text(), all.substr(0, all.find(stop)));
  EXPECT_EQ(ev.last().finish, FinishReason::kStop);
  EXPECT_EQ(ev.finished(), 1);  // the later kFinish(kLength) was dropped
  EXPECT_LT(ev.last().completion_tokens, static_cast<int>(tokens.size()));
  EXPECT_EQ(other.text(), all);  // the other request is untouched
  EXPECT_EQ(other.last().finish, FinishReason::kLength);
  EXPECT_EQ(stage.TakeStopped(), std::vector<uint64_t>{1});
  EXPECT_TRUE(stage.TakeStopped().empty());
  EXPECT_EQ(stage.requests_finished(), 2);
}

TEST_F(OutputStageTest, WaitForRoomBlocksWhileTheStageIsBehindUnlessToldToGiveUp) {
  OutputStage stage(*model_, 2);
  Events ev;
  ev.HoldFirst();
  const std::vector<Token> tokens = Tokens("one two three");
  stage.Post(One(Begin(5, ev)));
  stage.Post(One(TokenRecord(5, tokens[0], 1)));
  ASSERT_TRUE(ev.WaitHeld());  // the stage thread is inside the callback
  stage.Post(One(TokenRecord(5, tokens[1], 2)));
  stage.Post(One(TokenRecord(5, tokens[2], 3)));  // two posted steps wait behind the held one

  std::atomic<bool> give_up{false};
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    stage.WaitForRoom([&] { return give_up.load(); });
    returned = true;
  });
  // It stays blocked while the stage is held (checked for a while, not slept on: a poll that
  // would see `returned` flip if the wait were wrong).
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(50);
  while (Clock::now() < until) ASSERT_FALSE(returned.load());
  give_up = true;
  waiter.join();
  EXPECT_TRUE(returned.load());

  ev.Release();
  std::thread second([&] { stage.WaitForRoom([] { return false; }); });  // room once drained
  second.join();
  stage.Post(One(FinishRecord(5, FinishReason::kLength)));
  ASSERT_TRUE(ev.WaitFinished());
  EXPECT_EQ(ev.text(), Pieces(tokens));
}

TEST_F(OutputStageTest, CloseDeliversEverythingPosted) {
  Events ev;
  const std::vector<Token> tokens = Tokens("last words");
  {
    OutputStage stage(*model_, 1);
    stage.Post(One(Begin(9, ev)));
    for (Token t : tokens) stage.Post(One(TokenRecord(9, t, 1)));
    stage.Post(One(FinishRecord(9, FinishReason::kCancelled)));
  }  // destructor: Close() then join
  EXPECT_EQ(ev.finished(), 1);
  EXPECT_EQ(ev.last().finish, FinishReason::kCancelled);
  EXPECT_EQ(ev.text(), Pieces(tokens));  // a cancelled request keeps what it was sent
}

}  // namespace
}  // namespace cohost::engine
