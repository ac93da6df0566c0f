// Scheduler tests against a real (tiny, synthetic) llama model: real llama.cpp decoding, real
// threads. Waits are on condition variables or polls with a deadline; nothing sleeps a fixed time.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <limits>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
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

// Collects the events of one request. Events arrive on the scheduler thread.
//
// Test hook: after HoldAtEvent(n), the n-th event blocks the scheduler thread inside the
// callback until Release() (or a deadline), so a test can act while the request is certainly
// running. Real callbacks must not block; this one does so only to fix the interleaving.
class Recorder {
 public:
  EventCallback Callback() {
    return [this](const GenerationEvent& e) { OnEvent(e); };
  }

  void HoldAtEvent(int n) {
    std::lock_guard<std::mutex> l(mu_);
    hold_at_ = n;
  }
  void HoldFirstEvent() { HoldAtEvent(1); }
  // Waits until the scheduler thread is held; false on timeout.
  bool WaitHeld() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kTimeout, [this] { return held_; });
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  // Waits for the kFinished event; false on timeout.
  bool WaitFinished() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kTimeout, [this] { return finished_count_ > 0; });
  }

  std::string text() const {
    std::lock_guard<std::mutex> l(mu_);
    return text_;
  }
  GenerationEvent finished() const {
    std::lock_guard<std::mutex> l(mu_);
    return finished_;
  }
  int finished_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return finished_count_;
  }
  int event_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return event_count_;
  }
  bool first_event_was_finish() const {
    std::lock_guard<std::mutex> l(mu_);
    return first_event_was_finish_;
  }
  std::thread::id callback_thread() const {
    std::lock_guard<std::mutex> l(mu_);
    return callback_thread_;
  }

 private:
  void OnEvent(const GenerationEvent& e) {
    std::unique_lock<std::mutex> l(mu_);
    if (event_count_++ == 0) first_event_was_finish_ = e.kind == GenerationEvent::Kind::kFinished;
    callback_thread_ = std::this_thread::get_id();
    if (e.kind == GenerationEvent::Kind::kText) {
      EXPECT_EQ(finished_count_, 0) << "text after the finish event";
      text_ += e.text;
    } else {
      finished_ = e;
      ++finished_count_;
    }
    cv_.notify_all();
    if (event_count_ == hold_at_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait_for(l, kTimeout, [this] { return released_; });
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  GenerationEvent finished_;
  int finished_count_ = 0;
  int event_count_ = 0;
  bool first_event_was_finish_ = false;
  std::thread::id callback_thread_;
  int hold_at_ = 0;  // 0: never hold
  bool held_ = false;
  bool released_ = false;
};

// `n` arbitrary ordinary tokens; different `salt`s give different prompts.
std::vector<Token> Prompt(int n, int salt = 0) {
  std::vector<Token> p;
  for (int i = 0; i < n; ++i) p.push_back(static_cast<Token>(1000 + (i * 37 + salt * 101) % 20000));
  return p;
}

GenerationRequest Request(std::vector<Token> prompt, int max_tokens, Recorder& rec) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;  // greedy
  r.sampling.ignore_eos = true;
  r.on_event = rec.Callback();
  return r;
}

SchedulerOptions SmallOptions(int parallel) {
  SchedulerOptions o;
  o.parallel = parallel;
  o.context = 128;
  o.max_queue = 16;
  o.batch = 64;
  o.ubatch = 64;
  // One compute thread: ggml's worker threads spin at barriers, and on a small, busy machine two
  // of them make these tests ten times slower.
  o.threads = 1;
  return o;
}

// GetStats() is published after each step, just after the callbacks of that step, so it is polled
// (with a deadline) rather than read once after an event.
bool WaitForStats(const Scheduler& s, const std::function<bool(const SchedulerStats&)>& pred) {
  const Clock::time_point deadline = Clock::now() + kTimeout;
  while (Clock::now() < deadline) {
    if (pred(s.GetStats())) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred(s.GetStats());
}

bool Idle(const SchedulerStats& st) {
  return st.slots_busy == 0 && st.kv_cells_used == 0 && st.queue_length == 0;
}

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InitLlamaRuntime(false);
    char tmpl[] = "/tmp/cohost_scheduler_test_XXXXXX";
    if (!mkdtemp(tmpl)) {
      setup_error_ = new std::string("mkdtemp failed");
      return;
    }
    dir_ = new std::string(tmpl);
    model_ = LoadTiny("mha.gguf", 4).release();
    gqa_model_ = LoadTiny("gqa.gguf", 2).release();
  }

  static void TearDownTestSuite() {
    delete model_;
    delete gqa_model_;
    model_ = gqa_model_ = nullptr;
    if (dir_) {
      std::error_code ec;
      std::filesystem::remove_all(*dir_, ec);
    }
    delete dir_;
    dir_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  static std::unique_ptr<Model> LoadTiny(const std::string& name, int n_head_kv) {
    SyntheticModelOptions o;
    o.shape.n_embd = 64;
    o.shape.n_layer = 2;
    o.shape.n_head = 4;
    o.shape.n_head_kv = n_head_kv;
    o.shape.n_ff = 128;
    o.vocab_path = DefaultVocabPath();
    o.seed = 7;
    const std::string path = *dir_ + "/" + name;
    if (o.vocab_path.empty()) {
      setup_error_ = new std::string("no default vocabulary found");
      return nullptr;
    }
    if (Status st = WriteSyntheticModel(o, path); !st.ok()) {
      setup_error_ = new std::string("WriteSyntheticModel: " + st.ToString());
      return nullptr;
    }
    ModelOptions mo;
    mo.path = path;
    StatusOr<std::unique_ptr<Model>> m = Model::Load(mo);
    if (!m.ok()) {
      setup_error_ = new std::string("Model::Load: " + m.status().ToString());
      return nullptr;
    }
    return std::move(m).value();
  }

  void SetUp() override {
    ASSERT_NE(model_, nullptr) << (setup_error_ ? *setup_error_ : "");
    ASSERT_NE(gqa_model_, nullptr) << (setup_error_ ? *setup_error_ : "");
  }

  static std::unique_ptr<Scheduler> MakeScheduler(const Model& model, const SchedulerOptions& o) {
    StatusOr<std::unique_ptr<Scheduler>> s = Scheduler::Create(model, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Runs one request alone and returns its text; `finish` receives the finish event.
  static std::string RunOne(Scheduler& s, GenerationRequest r, GenerationEvent* finish = nullptr) {
    Recorder rec;
    r.on_event = rec.Callback();
    StatusOr<uint64_t> id = s.Submit(std::move(r));
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return {};
    EXPECT_TRUE(rec.WaitFinished()) << "request did not finish in time";
    if (finish) *finish = rec.finished();
    return rec.text();
  }

  static std::string* dir_;
  static std::string* setup_error_;
  static Model* model_;
  static Model* gqa_model_;
};

std::string* SchedulerTest::dir_ = nullptr;
std::string* SchedulerTest::setup_error_ = nullptr;
Model* SchedulerTest::model_ = nullptr;
Model* SchedulerTest::gqa_model_ = nullptr;

TEST_F(SchedulerTest, CreateValidatesOptions) {
  struct Case {
    const char* name;
    std::function<void(SchedulerOptions&)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"parallel 0", [](SchedulerOptions& o) { o.parallel = 0; }, "parallel"},
      {"parallel 257",
       [](SchedulerOptions& o) {
         o.parallel = 257;
         o.batch = 512;
       },
       "parallel"},
      {"context 8", [](SchedulerOptions& o) { o.context = 8; }, "context"},
      {"batch < parallel",
       [](SchedulerOptions& o) {
         o.parallel = 8;
         o.batch = 4;
         o.ubatch = 4;
       },
       "batch"},
      {"ubatch 0", [](SchedulerOptions& o) { o.ubatch = 0; }, "ubatch"},
      {"ubatch > batch", [](SchedulerOptions& o) { o.ubatch = o.batch + 1; }, "ubatch"},
      {"max_queue -1", [](SchedulerOptions& o) { o.max_queue = -1; }, "max_queue"},
      {"threads -1", [](SchedulerOptions& o) { o.threads = -1; }, "threads"},
      {"max_prefill_chunk -1", [](SchedulerOptions& o) { o.max_prefill_chunk = -1; },
       "max_prefill_chunk"},
      {"admission_gather_us -1", [](SchedulerOptions& o) { o.admission_gather_us = -1; },
       "admission_gather_us"},
      {"admission_gather_us 2 s", [](SchedulerOptions& o) { o.admission_gather_us = 2'000'000; },
       "admission_gather_us"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SchedulerOptions o = SmallOptions(2);
    c.mutate(o);
    StatusOr<std::unique_ptr<Scheduler>> s = Scheduler::Create(*model_, o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().field(), c.field);
  }

  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(3));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->slot_context(), 128);
  const SchedulerStats st = s->GetStats();
  EXPECT_EQ(st.slots_total, 3);
  EXPECT_EQ(st.slots_busy, 0);
}

TEST_F(SchedulerTest, GeneratesExactlyMaxTokens) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(2));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder rec;
  ASSERT_TRUE(s->Submit(Request(Prompt(6), 8, rec)).ok());
  ASSERT_TRUE(rec.WaitFinished());
  const GenerationEvent f = rec.finished();
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_TRUE(f.error.ok());
  EXPECT_EQ(f.prompt_tokens, 6);
  EXPECT_EQ(f.completion_tokens, 8);
  EXPECT_GE(f.queue_ms, 0);
  EXPECT_GE(f.prompt_ms, 0);
  EXPECT_GE(f.generation_ms, 0);
  EXPECT_EQ(rec.finished_count(), 1);
  EXPECT_NE(rec.callback_thread(), std::this_thread::get_id());
  EXPECT_TRUE(WaitForStats(*s, [](const SchedulerStats& st) {
    return Idle(st) && st.requests_finished == 1 && st.tokens_generated == 8;
  }));
}

TEST_F(SchedulerTest, PromptFromTokenizerGenerates) {
  StatusOr<std::vector<Token>> prompt = model_->Tokenize("Hello, my name is");
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  ASSERT_FALSE(prompt->empty());
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder rec;
  GenerationEvent f;
  RunOne(*s, Request(*prompt, 5, rec), &f);
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_EQ(f.prompt_tokens, static_cast<int>(prompt->size()));
  EXPECT_EQ(f.completion_tokens, 5);
}

TEST_F(SchedulerTest, GreedyIsDeterministic) {
  for (const Model* model : {model_, gqa_model_}) {
    SCOPED_TRACE(model == model_ ? "mha" : "gqa");
    std::unique_ptr<Scheduler> s = MakeScheduler(*model, SmallOptions(2));
    ASSERT_NE(s, nullptr);
    s->Start();
    Recorder unused;
    GenerationEvent f1, f2;
    const std::string a = RunOne(*s, Request(Prompt(7), 12, unused), &f1);
    const std::string b = RunOne(*s, Request(Prompt(7), 12, unused), &f2);
    EXPECT_EQ(f1.finish, FinishReason::kLength);
    EXPECT_EQ(f1.completion_tokens, 12);
    EXPECT_EQ(f2.completion_tokens, 12);
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, b);
  }
}

// Requests decoded together give the same greedy text as each alone, and share decode steps.
TEST_F(SchedulerTest, ParallelMatchesSingleAndBatches) {
  constexpr int kRequests = 4;
  constexpr int kMaxTokens = 10;
  std::vector<std::string> alone;
  {
    std::unique_ptr<Scheduler> single = MakeScheduler(*model_, SmallOptions(1));
    ASSERT_NE(single, nullptr);
    single->Start();
    Recorder unused;
    for (int i = 0; i < kRequests; ++i) {
      alone.push_back(RunOne(*single, Request(Prompt(5 + 4 * i, i), kMaxTokens, unused)));
    }
  }

  std::vector<Recorder> recs(kRequests);
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(kRequests));
  ASSERT_NE(s, nullptr);
  // Submitted before Start(), so the first step admits all of them together.
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(
        s->Submit(Request(Prompt(5 + 4 * i, i), kMaxTokens, recs[static_cast<size_t>(i)])).ok());
  }
  EXPECT_EQ(s->GetStats().queue_length, kRequests);
  s->Start();
  for (int i = 0; i < kRequests; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    Recorder& rec = recs[static_cast<size_t>(i)];
    ASSERT_TRUE(rec.WaitFinished());
    EXPECT_EQ(rec.finished().finish, FinishReason::kLength);
    EXPECT_EQ(rec.finished().completion_tokens, kMaxTokens);
    EXPECT_EQ(rec.text(), alone[static_cast<size_t>(i)]);
  }
  ASSERT_TRUE(WaitForStats(
      *s, [](const SchedulerStats& st) { return Idle(st) && st.requests_finished == kRequests; }));
  const SchedulerStats st = s->GetStats();
  EXPECT_EQ(st.tokens_generated, kRequests * kMaxTokens);
  // One step prefills every prompt and samples each first token; each further step decodes one
  // token of every request. Run one after another they would need kRequests times as many.
  EXPECT_EQ(st.decode_steps, kMaxTokens);
}

TEST_F(SchedulerTest, RequestsRunConcurrentlyInSlots) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(3));
  ASSERT_NE(s, nullptr);
  Recorder a, b;
  // Held at its third event, so at least two steps have run and their stats are published.
  a.HoldAtEvent(3);
  StatusOr<uint64_t> ida = s->Submit(Request(Prompt(4), 100, a));
  StatusOr<uint64_t> idb = s->Submit(Request(Prompt(6, 1), 100, b));
  ASSERT_TRUE(ida.ok());
  ASSERT_TRUE(idb.ok());
  s->Start();
  ASSERT_TRUE(a.WaitHeld());
  ASSERT_EQ(a.finished_count(), 0);
  const SchedulerStats st = s->GetStats();
  EXPECT_EQ(st.slots_busy, 2);
  EXPECT_EQ(st.queue_length, 0);
  EXPECT_GE(st.kv_cells_used, 4 + 6 + 2);  // both prompts and a token each at least
  EXPECT_GE(st.decode_steps, 2);
  s->Cancel(*ida);
  s->Cancel(*idb);
  a.Release();
  ASSERT_TRUE(a.WaitFinished());
  ASSERT_TRUE(b.WaitFinished());
  EXPECT_EQ(a.finished().finish, FinishReason::kCancelled);
  EXPECT_EQ(b.finished().finish, FinishReason::kCancelled);
  EXPECT_TRUE(WaitForStats(
      *s, [](const SchedulerStats& st) { return Idle(st) && st.requests_finished == 2; }));
}

// An idle scheduler waits (up to admission_gather_us) for the rest of a burst, and stops waiting
// as soon as every slot is spoken for: both requests are prefilled and answered in one step.
// The wait is one second, longer than the gap between the two Submit calls on any machine, and
// it ends early because the second request fills the last slot.
TEST_F(SchedulerTest, IdleSchedulerGathersBurstIntoOneStep) {
  SchedulerOptions o = SmallOptions(2);
  o.admission_gather_us = 1'000'000;
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, o);
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder a, b;
  ASSERT_TRUE(s->Submit(Request(Prompt(5), 1, a)).ok());
  ASSERT_TRUE(s->Submit(Request(Prompt(7, 1), 1, b)).ok());
  ASSERT_TRUE(a.WaitFinished());
  ASSERT_TRUE(b.WaitFinished());
  EXPECT_EQ(a.finished().completion_tokens, 1);
  EXPECT_EQ(b.finished().completion_tokens, 1);
  EXPECT_TRUE(WaitForStats(*s, [](const SchedulerStats& st) {
    return Idle(st) && st.requests_finished == 2;
  }));
  EXPECT_EQ(s->GetStats().decode_steps, 1);
}

TEST_F(SchedulerTest, ChunkedPrefillMatchesWholePrefill) {
  SchedulerOptions chunked = SmallOptions(1);
  chunked.max_prefill_chunk = 3;
  std::unique_ptr<Scheduler> a = MakeScheduler(*model_, SmallOptions(1));
  std::unique_ptr<Scheduler> b = MakeScheduler(*model_, chunked);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  a->Start();
  b->Start();
  Recorder unused;
  const std::string whole = RunOne(*a, Request(Prompt(20), 6, unused));
  const std::string pieces = RunOne(*b, Request(Prompt(20), 6, unused));
  EXPECT_EQ(whole, pieces);
  ASSERT_TRUE(WaitForStats(*b, [](const SchedulerStats& st) { return st.requests_finished == 1; }));
  EXPECT_EQ(b->GetStats().decode_steps, 7 + 5);  // ceil(20 / 3) prefill steps, then 5 decodes
}

TEST_F(SchedulerTest, SameSeedSameSampledText) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(2));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder unused;
  auto sampled = [&](uint32_t seed) {
    GenerationRequest r = Request(Prompt(8), 12, unused);
    r.sampling.temperature = 0.8f;
    r.sampling.seed = seed;
    return RunOne(*s, std::move(r));
  };
  const std::string a = sampled(1234);
  const std::string b = sampled(1234);
  const std::string c = sampled(99);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  // The random model's next-token distribution is nearly flat over 32k tokens, so another seed
  // all but surely gives another text.
  EXPECT_NE(a, c);
}

TEST_F(SchedulerTest, CancelRunningRequestFreesSlot) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder rec;
  rec.HoldFirstEvent();
  StatusOr<uint64_t> id = s->Submit(Request(Prompt(10), 100, rec));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(rec.WaitHeld());
  ASSERT_FALSE(rec.first_event_was_finish());
  s->Cancel(*id);
  rec.Release();
  ASSERT_TRUE(rec.WaitFinished());
  EXPECT_EQ(rec.finished().finish, FinishReason::kCancelled);
  EXPECT_LT(rec.finished().completion_tokens, 100);
  EXPECT_EQ(rec.finished_count(), 1);
  EXPECT_TRUE(WaitForStats(
      *s, [](const SchedulerStats& st) { return Idle(st) && st.requests_finished == 1; }))
      << "slots_busy " << s->GetStats().slots_busy << " kv_cells_used "
      << s->GetStats().kv_cells_used;

  s->Cancel(*id);     // idempotent
  s->Cancel(999999);  // unknown ids are ignored
  // The slot's KV cells were freed: a request that fills the whole slot context runs in it.
  Recorder full;
  const int prompt = s->slot_context() - 6;
  GenerationEvent f;
  RunOne(*s, Request(Prompt(prompt, 3), 6, full), &f);
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_TRUE(f.error.ok()) << f.error.ToString();
  EXPECT_EQ(f.completion_tokens, 6);
  EXPECT_EQ(rec.finished_count(), 1);  // no second finish for the cancelled request
}

TEST_F(SchedulerTest, CancelQueuedRequest) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder running, queued;
  running.HoldFirstEvent();
  StatusOr<uint64_t> a = s->Submit(Request(Prompt(4), 100, running));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(running.WaitHeld());
  StatusOr<uint64_t> b = s->Submit(Request(Prompt(4, 1), 4, queued));
  ASSERT_TRUE(b.ok());
  s->Cancel(*b);
  running.Release();
  ASSERT_TRUE(queued.WaitFinished());
  EXPECT_EQ(queued.finished().finish, FinishReason::kCancelled);
  EXPECT_EQ(queued.finished().completion_tokens, 0);
  EXPECT_EQ(queued.finished().prompt_tokens, 4);
  EXPECT_EQ(queued.text(), "");
  s->Cancel(*a);
  ASSERT_TRUE(running.WaitFinished());
  // Usually cancelled; kLength only if it generated all 100 tokens before Cancel() arrived.
  EXPECT_NE(running.finished().finish, FinishReason::kStop);
  EXPECT_NE(running.finished().finish, FinishReason::kError);
}

TEST_F(SchedulerTest, QueueFullIsResourceExhausted) {
  SchedulerOptions o = SmallOptions(1);
  o.max_queue = 1;
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, o);
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder r1, r2, r3;
  r1.HoldFirstEvent();
  StatusOr<uint64_t> first = s->Submit(Request(Prompt(4), 100, r1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(r1.WaitHeld());  // r1 holds the only slot
  StatusOr<uint64_t> second = s->Submit(Request(Prompt(4), 100, r2));
  ASSERT_TRUE(second.ok());
  StatusOr<uint64_t> third = s->Submit(Request(Prompt(4), 100, r3));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s->GetStats().queue_length, 1);
  s->Cancel(*first);
  s->Cancel(*second);
  r1.Release();
  ASSERT_TRUE(r1.WaitFinished());
  ASSERT_TRUE(r2.WaitFinished());
  EXPECT_EQ(r1.finished().finish, FinishReason::kCancelled);
  EXPECT_EQ(r2.finished().finish, FinishReason::kCancelled);
  EXPECT_EQ(r3.event_count(), 0);  // a refused request gets no events
}

TEST_F(SchedulerTest, SubmitValidatesPromptAndMaxTokens) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(2));
  ASSERT_NE(s, nullptr);
  const int ctx = s->slot_context();
  Recorder rec;
  struct Case {
    const char* name;
    int prompt;
    int max_tokens;
    const char* field;
  };
  for (const Case& c :
       {Case{"empty prompt", 0, 4, "prompt"}, Case{"prompt fills the context", ctx, 1, "prompt"},
        Case{"prompt longer than the context", ctx + 10, 1, "prompt"},
        Case{"max_tokens 0", 4, 0, "max_tokens"},
        Case{"prompt + max_tokens over the context", 10, ctx - 9, "max_tokens"},
        // The sum would overflow int and pass a naive prompt + max_tokens > context check.
        Case{"max_tokens INT_MAX", 10, std::numeric_limits<int>::max(), "max_tokens"},
        Case{"max_tokens INT_MAX - prompt", 10, std::numeric_limits<int>::max() - 9, "max_tokens"}}) {
    SCOPED_TRACE(c.name);
    StatusOr<uint64_t> id = s->Submit(Request(Prompt(c.prompt), c.max_tokens, rec));
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(id.status().field(), c.field);
  }
  EXPECT_EQ(rec.event_count(), 0);

  // Exactly filling the context is allowed.
  s->Start();
  GenerationEvent f;
  RunOne(*s, Request(Prompt(ctx - 1), 1, rec), &f);
  EXPECT_EQ(f.finish, FinishReason::kLength);
  EXPECT_EQ(f.completion_tokens, 1);
  EXPECT_TRUE(f.error.ok()) << f.error.ToString();
}

TEST_F(SchedulerTest, StopStringEndsWithStop) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder unused;
  GenerationEvent full_finish;
  const std::string full = RunOne(*s, Request(Prompt(9), 24, unused), &full_finish);
  ASSERT_EQ(full_finish.completion_tokens, 24);
  // Pick an ASCII character that first appears after some text as the stop string. Greedy
  // decoding repeats the same tokens, so the stop run must end right before it.
  std::string stop;
  for (size_t i = 1; i < full.size() && stop.empty(); ++i) {
    const unsigned char c = static_cast<unsigned char>(full[i]);
    if (c > 0x20 && c < 0x7F && full.find(static_cast<char>(c)) == i)
      stop = std::string(1, full[i]);
  }
  ASSERT_FALSE(stop.empty()) << "no usable stop character in: " << full;
  GenerationRequest r = Request(Prompt(9), 24, unused);
  r.stop = {stop, "a stop string that never appears"};
  GenerationEvent f;
  const std::string text = RunOne(*s, std::move(r), &f);
  EXPECT_EQ(f.finish, FinishReason::kStop);
  EXPECT_EQ(text, full.substr(0, full.find(stop))) << "stop '" << stop << "' in '" << full << "'";
  EXPECT_LE(f.completion_tokens, full_finish.completion_tokens);
}

// Sampling inside the decode graph (llama.cpp's backend sampling) and on the host from the logits
// pick the same greedy tokens, one stream or several batched together.
TEST_F(SchedulerTest, BackendAndHostSamplingPickTheSameGreedyTokens) {
  SchedulerOptions on = SmallOptions(3), off = SmallOptions(3);
  on.backend_sampling = true;
  off.sampling_threads = 2;  // and the host's rows split across a pool
  std::unique_ptr<Scheduler> a = MakeScheduler(*model_, on);
  std::unique_ptr<Scheduler> b = MakeScheduler(*model_, off);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  a->Start();
  b->Start();
  for (int salt = 0; salt < 3; ++salt) {
    Recorder unused;
    EXPECT_EQ(RunOne(*a, Request(Prompt(9, salt), 20, unused)), RunOne(*b, Request(Prompt(9, salt), 20, unused)))
        << "salt " << salt;
  }
  // Three at once in the backend-sampling scheduler: each its own sequence's tokens.
  Recorder r[3];
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->Submit(Request(Prompt(9, i), 20, r[i])).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r[i].WaitFinished());
    Recorder unused;
    EXPECT_EQ(r[i].text(), RunOne(*b, Request(Prompt(9, i), 20, unused))) << i;
  }
}

// A stop string is found on the output thread; the slot it ends is freed for the next request,
// and the request's counts stop at the stop string.
TEST_F(SchedulerTest, StopStringFreesTheSlot) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder unused;
  const std::string full = RunOne(*s, Request(Prompt(11), 30, unused));
  ASSERT_GE(full.size(), 4u);
  GenerationRequest r = Request(Prompt(11), 30, unused);
  r.stop = {full.substr(1, 2)};
  GenerationEvent f;
  EXPECT_EQ(RunOne(*s, std::move(r), &f), full.substr(0, full.find(full.substr(1, 2))));
  EXPECT_EQ(f.finish, FinishReason::kStop);
  EXPECT_LT(f.completion_tokens, 30);
  EXPECT_TRUE(WaitForStats(*s, [](const SchedulerStats& st) { return Idle(st) && st.requests_finished == 2; }));
  EXPECT_EQ(RunOne(*s, Request(Prompt(11), 30, unused)), full);  // the slot works again
}

TEST_F(SchedulerTest, StopCancelsRunningAndQueuedRequests) {
  SchedulerOptions o = SmallOptions(1);
  o.max_queue = 2;
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, o);
  ASSERT_NE(s, nullptr);
  s->Start();
  Recorder running, q1, q2, probe;
  running.HoldFirstEvent();
  ASSERT_TRUE(s->Submit(Request(Prompt(4), 100, running)).ok());
  ASSERT_TRUE(running.WaitHeld());
  ASSERT_TRUE(s->Submit(Request(Prompt(4, 1), 100, q1)).ok());
  ASSERT_TRUE(s->Submit(Request(Prompt(4, 2), 100, q2)).ok());

  std::thread stopper([&s] { s->Stop(); });
  // Stop() marks the scheduler stopping before it joins the (held) inference thread. The queue
  // is full, so a probe is refused either way, with kUnavailable once stopping.
  const Clock::time_point deadline = Clock::now() + kTimeout;
  StatusCode code = StatusCode::kOk;
  while (Clock::now() < deadline) {
    StatusOr<uint64_t> p = s->Submit(Request(Prompt(4), 4, probe));
    ASSERT_FALSE(p.ok());
    code = p.status().code();
    if (code == StatusCode::kUnavailable) break;
    EXPECT_EQ(code, StatusCode::kResourceExhausted);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(code, StatusCode::kUnavailable);
  running.Release();
  stopper.join();

  for (Recorder* r : {&running, &q1, &q2}) {
    EXPECT_EQ(r->finished_count(), 1);
    EXPECT_EQ(r->finished().finish, FinishReason::kCancelled);
  }
  EXPECT_EQ(q1.finished().completion_tokens, 0);
  EXPECT_EQ(probe.event_count(), 0);
  EXPECT_EQ(s->Submit(Request(Prompt(4), 4, probe)).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Idle(s->GetStats()));
  s->Stop();  // idempotent
}

TEST_F(SchedulerTest, StopBeforeStartCancelsQueuedRequests) {
  std::unique_ptr<Scheduler> s = MakeScheduler(*model_, SmallOptions(1));
  ASSERT_NE(s, nullptr);
  Recorder a, b;
  ASSERT_TRUE(s->Submit(Request(Prompt(4), 4, a)).ok());
  ASSERT_TRUE(s->Submit(Request(Prompt(5), 4, b)).ok());
  s->Stop();
  for (Recorder* r : {&a, &b}) {
    ASSERT_TRUE(r->WaitFinished());
    EXPECT_EQ(r->finished().finish, FinishReason::kCancelled);
    EXPECT_EQ(r->finished().completion_tokens, 0);
  }
  EXPECT_EQ(b.finished().prompt_tokens, 5);
  s->Start();  // no effect once stopped
  EXPECT_EQ(s->Submit(Request(Prompt(4), 4, a)).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cohost::engine
