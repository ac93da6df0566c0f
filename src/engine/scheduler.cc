#include "engine/scheduler.h"

#include <llama.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "engine/batch_planner.h"
#include "engine/context_params.h"
#include "engine/llama_runtime.h"
#include "engine/memory_estimate.h"
#include "engine/output_stage.h"
#include "engine/parallel_for.h"
#include "engine/sampler.h"

namespace cohost::engine {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status ValidateSchedulerOptions(const SchedulerOptions& o) {
  if (o.parallel < 1 || o.parallel > 256) return InvalidArgument("parallel", "must be 1..256");
  if (o.context < 16) return InvalidArgument("context", "must be at least 16 tokens");
  if (o.batch < o.parallel)
    return InvalidArgument("batch", "must be at least parallel (" + std::to_string(o.parallel) + ")");
  if (o.ubatch < 1 || o.ubatch > o.batch) return InvalidArgument("ubatch", "must be 1..batch");
  if (o.max_queue < 0) return InvalidArgument("max_queue", "must not be negative");
  if (o.threads < 0) return InvalidArgument("threads", "must not be negative");
  if (o.max_prefill_chunk < 0) return InvalidArgument("max_prefill_chunk", "must not be negative");
  if (o.sampling_threads < -1 || o.sampling_threads > 64)
    return InvalidArgument("sampling_threads", "must be -1 (auto) or 0..64");
  if (o.admission_gather_us < 0 || o.admission_gather_us > 1'000'000)
    return InvalidArgument("admission_gather_us", "must be 0..1000000 (at most one second)");
  return Status::Ok();
}

namespace {

void AddToBatch(llama_batch& b, Token token, int pos, int seq, bool logits) {
  b.token[b.n_tokens] = token;
  b.pos[b.n_tokens] = pos;
  b.n_seq_id[b.n_tokens] = 1;
  b.seq_id[b.n_tokens][0] = seq;
  b.logits[b.n_tokens] = logits;
  b.n_tokens++;
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "stop";
}

struct Scheduler::Batch {
  explicit Batch(int n) : b(llama_batch_init(n, 0, 1)) {}
  ~Batch() { llama_batch_free(b); }
  llama_batch b;
};

struct Scheduler::Slot {
  int index = 0;
  bool active = false;
  uint64_t id = 0;
  GenerationRequest request;  // its on_event moved to the output stage at admission
  // Kept across requests while it is reusable (a plain greedy chain): attaching a backend chain
  // makes llama.cpp re-plan its graph, which is worth avoiding per request.
  std::unique_ptr<Sampler> sampler;
  int prompt_pos = 0;  // prompt tokens decoded so far
  int n_past = 0;      // KV positions used
  bool decoding = false;
  Token pending = 0;   // sampled, not yet decoded
  int completion_tokens = 0;
  uint64_t admitted_seq = 0;
  int64_t first_token_us = 0;
};

Scheduler::Scheduler(const Model& model, SchedulerOptions options)
    : model_(model), options_(options) {}

StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(const Model& model, SchedulerOptions options) {
  RETURN_IF_ERROR(ValidateSchedulerOptions(options));
  if (options.threads == 0) options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (options.max_prefill_chunk == 0) options.max_prefill_chunk = options.batch;
  std::unique_ptr<Scheduler> s(new Scheduler(model, options));

  llama_context_params cp = MakeContextParams(options);
  TakeLlamaErrors();
  s->ctx_ = llama_init_from_model(model.raw(), cp);
  if (!s->ctx_) {
    std::string why = TakeLlamaErrors();
    return Status(StatusCode::kResourceExhausted,
                  "could not create a llama.cpp context for " + std::to_string(options.parallel) +
                      " slots of " + std::to_string(options.context) + " tokens" +
                      (why.empty() ? "" : ": " + why));
  }
  s->slot_context_ = std::min<int>(options.context, static_cast<int>(llama_n_ctx_seq(s->ctx_)));
  s->allocated_bytes_ = static_cast<int64_t>(MeasureContext(s->ctx_).total.total());
  for (int i = 0; i < options.parallel; ++i) {
    s->slots_.push_back(std::make_unique<Slot>());
    s->slots_.back()->index = i;
  }
  s->batch_ = std::make_unique<Batch>(options.batch);
  s->output_ = std::make_unique<OutputStage>(model, kMaxOutputLagSteps);
  int helpers = options.sampling_threads;
  if (helpers < 0) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    helpers = hw >= 8 ? std::min(7, hw / 4) : 0;
  }
  s->sampling_pool_ = std::make_unique<ParallelFor>(helpers);
  s->stats_.slots_total = options.parallel;
  return s;
}

Scheduler::~Scheduler() {
  Stop();
  for (auto& slot : slots_) {
    if (slot->sampler) slot->sampler->Detach(ctx_);
  }
  slots_.clear();
  batch_.reset();
  if (ctx_) llama_free(ctx_);
}

void Scheduler::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  std::deque<Queued> orphans;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    if (!started_) orphans.swap(queue_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (output_) output_->Close();  // every event of the finished requests is delivered
  for (Queued& q : orphans) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kFinished;
    e.finish = FinishReason::kCancelled;
    e.prompt_tokens = static_cast<int>(q.request.prompt.size());
    q.request.on_event(e);
  }
}

StatusOr<uint64_t> Scheduler::Submit(GenerationRequest request) {
  if (!request.on_event) return InvalidArgument("on_event", "is required");
  const int n_prompt = static_cast<int>(request.prompt.size());
  if (n_prompt == 0) return InvalidArgument("prompt", "is empty");
  if (n_prompt >= slot_context_) {
    return InvalidArgument("prompt", "has " + std::to_string(n_prompt) +
                                         " tokens; the context holds " +
                                         std::to_string(slot_context_) +
                                         " (prompt plus at least one generated token)");
  }
  if (request.max_tokens < 1) return InvalidArgument("max_tokens", "must be at least 1");
  // Compared as room left, not as a sum: prompt + INT32_MAX would overflow and pass.
  if (request.max_tokens > slot_context_ - n_prompt) {
    return InvalidArgument("max_tokens", std::to_string(request.max_tokens) + " plus the prompt's " +
                                             std::to_string(n_prompt) +
                                             " tokens exceeds the context of " +
                                             std::to_string(slot_context_) + "; at most " +
                                             std::to_string(slot_context_ - n_prompt) + " allowed");
  }
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return Unavailable("the scheduler is stopping");
    const int free_slots = options_.parallel - active_slots_;
    if (static_cast<int>(queue_.size()) >= options_.max_queue + free_slots) {
      return Status(StatusCode::kResourceExhausted,
                    "all " + std::to_string(options_.parallel) + " slots are busy and the queue of " +
                        std::to_string(options_.max_queue) + " is full");
    }
    id = next_id_++;
    queue_.push_back(Queued{id, std::move(request), NowUs()});
    stats_.queue_length = static_cast<int>(queue_.size());
  }
  cv_.notify_one();
  return id;
}

void Scheduler::Cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    cancels_.push_back(id);
  }
  cv_.notify_one();
}

SchedulerStats Scheduler::GetStats() const {
  SchedulerStats st;
  {
    std::lock_guard<std::mutex> l(mu_);
    st = stats_;
  }
  // Requests finish on the output stage, possibly after the inference thread went idle.
  st.requests_finished = output_->requests_finished();
  st.tokens_generated = output_->tokens_generated();
  st.prompt_tokens = output_->prompt_tokens();
  return st;
}

bool Scheduler::WaitForWork() {
  std::vector<uint64_t> cancels;
  std::vector<Queued> cancelled_queued;
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] {
      return stopping_ || !cancels_.empty() || active_slots_ > 0 ||
             (!queue_.empty() && active_slots_ < options_.parallel);
    });
    if (stopping_) return false;
    if (active_slots_ == 0 && cancels_.empty() && options_.admission_gather_us > 0) {
      // Idle -> busy: let the rest of a burst arrive so it is prefilled in one step.
      cv_.wait_for(l, std::chrono::microseconds(options_.admission_gather_us), [this] {
        return stopping_ || static_cast<int>(queue_.size()) >= options_.parallel;
      });
      if (stopping_) return false;
    }
    cancels.swap(cancels_);
    for (uint64_t id : cancels) {
      auto it = std::find_if(queue_.begin(), queue_.end(), [id](const Queued& q) { return q.id == id; });
      if (it != queue_.end()) {
        cancelled_queued.push_back(std::move(*it));
        queue_.erase(it);
      }
    }
    while (!queue_.empty() && active_slots_ < options_.parallel) {
      admitted_.push_back(std::move(queue_.front()));
      queue_.pop_front();
      ++active_slots_;
    }
    stats_.queue_length = static_cast<int>(queue_.size());
  }
  for (Queued& q : cancelled_queued) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kFinished;
    e.finish = FinishReason::kCancelled;
    e.prompt_tokens = static_cast<int>(q.request.prompt.size());
    q.request.on_event(e);
  }
  for (Queued& q : admitted_) Admit(std::move(q));
  admitted_.clear();
  for (uint64_t id : cancels) {
    for (auto& slot : slots_) {
      if (slot->active && slot->id == id) Finish(*slot, FinishReason::kCancelled);
    }
  }
  return true;
}

void Scheduler::Admit(Queued&& q) {
  auto it = std::find_if(slots_.begin(), slots_.end(), [](const auto& s) { return !s->active; });
  Slot& s = **it;  // WaitForWork admits only while a slot is free
  s.active = true;
  s.id = q.id;
  s.request = std::move(q.request);
  if (!s.sampler || !s.sampler->ReusableFor(s.request.sampling)) {
    if (s.sampler) s.sampler->Detach(ctx_);
    s.sampler = std::make_unique<Sampler>(model_, s.request.sampling);
    if (options_.backend_sampling) s.sampler->Attach(ctx_, s.index);
  }
  s.prompt_pos = 0;
  s.n_past = 0;
  s.decoding = false;
  s.completion_tokens = 0;
  s.admitted_seq = admissions_++;
  s.first_token_us = 0;
  OutputRecord r;
  r.kind = OutputRecord::Kind::kBegin;
  r.id = s.id;
  r.begin = std::make_unique<OutputRequest>();
  r.begin->on_event = std::move(s.request.on_event);
  r.begin->stop = std::move(s.request.stop);
  r.begin->prompt_tokens = static_cast<int>(s.request.prompt.size());
  r.begin->submitted_us = q.submitted_us;
  r.begin->admitted_us = NowUs();
  records_.push_back(std::move(r));
}

void Scheduler::Loop() {
  while (WaitForWork()) {
    const int64_t t0 = NowUs();
    Step();
    // Published before the records go out, so that a caller who sees a request finished also
    // sees the step that finished it in the stats.
    PublishStats();
    PostRecords();
    step_us_ += NowUs() - t0;
  }
  ReleaseStopped();
  for (auto& slot : slots_) {
    if (slot->active) Finish(*slot, FinishReason::kCancelled);
  }
  std::deque<Queued> rest;
  {
    std::lock_guard<std::mutex> l(mu_);
    rest.swap(queue_);
  }
  for (Queued& q : rest) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kFinished;
    e.finish = FinishReason::kCancelled;
    e.prompt_tokens = static_cast<int>(q.request.prompt.size());
    q.request.on_event(e);
  }
  PostRecords();
  PublishStats();
}

void Scheduler::PostRecords() {
  // Keep at most kMaxOutputLagSteps steps of output unprocessed; a cancel or Stop() does not wait.
  output_->WaitForRoom([this] {
    std::lock_guard<std::mutex> l(mu_);
    return stopping_ || !cancels_.empty();
  });
  output_->Post(std::move(records_));
  records_.clear();
}

void Scheduler::ReleaseStopped() {
  for (uint64_t id : output_->TakeStopped()) {
    for (auto& slot : slots_) {
      if (slot->active && slot->id == id) Release(*slot);
    }
  }
}

void Scheduler::Step() {
  ReleaseStopped();
  std::vector<SlotView> views;
  for (auto& s : slots_) {
    if (!s->active) continue;
    views.push_back({s->index, s->decoding,
                     static_cast<int>(s->request.prompt.size()) - s->prompt_pos, s->admitted_seq});
  }
  BatchPlan plan = PlanBatch(views, options_.batch, options_.max_prefill_chunk);
  if (plan.work.empty()) return;

  llama_batch& batch = batch_->b;  // rebuilt each step; sized for options_.batch tokens
  batch.n_tokens = 0;
  std::vector<std::pair<Slot*, int>> outputs;  // slot, index of its logits in the batch
  for (const PlannedWork& w : plan.work) {
    Slot& s = *slots_[static_cast<size_t>(w.slot)];
    if (s.decoding) {
      AddToBatch(batch, s.pending, s.n_past, s.index, true);
      outputs.emplace_back(&s, batch.n_tokens - 1);
      continue;
    }
    for (int k = 0; k < w.n_tokens; ++k) {
      bool logits = w.wants_logits && k == w.n_tokens - 1;
      AddToBatch(batch, s.request.prompt[static_cast<size_t>(s.prompt_pos + k)], s.n_past + k,
                 s.index, logits);
      if (logits) outputs.emplace_back(&s, batch.n_tokens - 1);
    }
  }

  const int64_t t_decode = NowUs();
  const int rc = llama_decode(ctx_, batch);
  ++decode_steps_;
  if (rc != 0) {
    Status err = Internal("llama_decode failed with code " + std::to_string(rc) + ": " + TakeLlamaErrors());
    log::Error("decode failed", {{"code", rc}, {"tokens", batch.n_tokens}});
    for (const PlannedWork& w : plan.work) Finish(*slots_[static_cast<size_t>(w.slot)], FinishReason::kError, err);
    return;
  }
  for (const PlannedWork& w : plan.work) {
    Slot& s = *slots_[static_cast<size_t>(w.slot)];
    if (s.decoding) {
      s.n_past += 1;
      s.decoding = false;
    } else {
      s.prompt_pos += w.n_tokens;
      s.n_past += w.n_tokens;
    }
  }
  // llama_decode may return before a GPU finishes; reading the first output waits for the step.
  if (!outputs.empty()) llama_synchronize(ctx_);
  const int64_t now = NowUs();
  decode_us_ += now - t_decode;
  SampleOutputs(outputs);
  for (size_t i = 0; i < outputs.size(); ++i) HandleToken(*outputs[i].first, sampled_[i], now);
}

// Greedy rows sampled on the host are argmaxes over plain logits: those are split across the
// sampling pool; every other row (backend-sampled, or a sampler chain) is taken in turn here.
void Scheduler::SampleOutputs(const std::vector<std::pair<Slot*, int>>& outputs) {
  sampled_.assign(outputs.size(), 0);
  greedy_rows_.clear();
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto [slot, idx] = outputs[i];
    if (slot->sampler->PlainGreedyOnHost()) {
      if (const float* logits = llama_get_logits_ith(ctx_, idx)) {
        greedy_rows_.push_back({i, logits});
        continue;
      }
    }
    sampled_[i] = slot->sampler->Sample(ctx_, idx);
  }
  const int n_vocab = model_.n_vocab();
  sampling_pool_->Run(static_cast<int>(greedy_rows_.size()), [&](int r) {
    sampled_[greedy_rows_[static_cast<size_t>(r)].first] = FirstArgMax(greedy_rows_[static_cast<size_t>(r)].second, n_vocab);
  });
}

// Decides from the token id alone whether the sequence goes on; text and stop strings are the
// output stage's (see output_stage.h).
void Scheduler::HandleToken(Slot& s, Token token, int64_t now_us) {
  if (s.first_token_us == 0) s.first_token_us = now_us;
  if (!s.request.sampling.ignore_eos && model_.IsEndOfGeneration(token)) {
    Finish(s, FinishReason::kStop);
    return;
  }
  ++s.completion_tokens;
  OutputRecord r;
  r.kind = OutputRecord::Kind::kToken;
  r.id = s.id;
  r.token = token;
  r.time_us = now_us;
  records_.push_back(std::move(r));
  if (s.completion_tokens >= s.request.max_tokens || s.n_past >= slot_context_) {
    Finish(s, FinishReason::kLength);
  } else {
    s.decoding = true;
    s.pending = token;
  }
}

void Scheduler::Finish(Slot& s, FinishReason reason, Status error) {
  OutputRecord r;
  r.kind = OutputRecord::Kind::kFinish;
  r.id = s.id;
  r.finish = reason;
  r.error = std::move(error);
  r.first_token_us = s.first_token_us;
  records_.push_back(std::move(r));
  Release(s);
}

void Scheduler::Release(Slot& s) {
  llama_memory_seq_rm(llama_get_memory(ctx_), s.index, -1, -1);
  s.active = false;
  s.request = GenerationRequest();
  if (s.sampler && !s.sampler->stateless()) {  // a seeded chain serves one request only
    s.sampler->Detach(ctx_);
    s.sampler.reset();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    --active_slots_;
  }
}

void Scheduler::PublishStats() {
  SchedulerStats st;
  st.slots_total = options_.parallel;
  for (auto& s : slots_) {
    if (!s->active) continue;
    ++st.slots_busy;
    st.kv_cells_used += s->n_past;
  }
  st.requests_finished = output_->requests_finished();
  st.tokens_generated = output_->tokens_generated();
  st.prompt_tokens = output_->prompt_tokens();
  st.decode_steps = decode_steps_;
  st.decode_us = decode_us_;
  st.step_us = step_us_;
  std::lock_guard<std::mutex> l(mu_);
  st.queue_length = static_cast<int>(queue_.size());
  stats_ = st;
}

}  // namespace cohost::engine
