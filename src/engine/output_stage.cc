#include "engine/output_stage.h"

#include <algorithm>
#include <chrono>

#include "engine/text_assembler.h"

namespace cohost::engine {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct OutputStage::Live {
  explicit Live(std::unique_ptr<OutputRequest> r)
      : request(std::move(r)), text(request->stop) {}
  std::unique_ptr<OutputRequest> request;
  TextAssembler text;
  int completion_tokens = 0;
  int64_t first_token_us = 0;
};

OutputStage::OutputStage(const Model& model, int max_lag_steps)
    : model_(model), max_lag_(std::max(1, max_lag_steps)) {
  thread_ = std::thread([this] { Loop(); });
}

OutputStage::~OutputStage() {
  Close();
  if (thread_.joinable()) thread_.join();
}

void OutputStage::Post(std::vector<OutputRecord> records) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (pending_.empty()) {
      pending_ = std::move(records);
    } else {
      for (OutputRecord& r : records) pending_.push_back(std::move(r));
    }
    ++steps_posted_;
  }
  cv_.notify_one();
}

std::vector<uint64_t> OutputStage::TakeStopped() {
  std::vector<uint64_t> out;
  std::lock_guard<std::mutex> l(mu_);
  out.swap(stopped_);
  return out;
}

void OutputStage::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  room_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void OutputStage::Loop() {
  std::vector<OutputRecord> batch;
  for (;;) {
    int64_t steps = 0;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return closing_ || steps_posted_ > steps_done_; });
      if (steps_posted_ == steps_done_ && closing_) return;
      batch.swap(pending_);
      steps = steps_posted_;
    }
    for (OutputRecord& r : batch) Process(r);
    batch.clear();
    {
      std::lock_guard<std::mutex> l(mu_);
      steps_done_ = steps;
    }
    room_cv_.notify_all();
  }
}

void OutputStage::Process(OutputRecord& r) {
  auto it = std::find_if(live_.begin(), live_.end(), [&](const auto& e) { return e.first == r.id; });
  if (r.kind == OutputRecord::Kind::kBegin) {
    if (it == live_.end()) live_.emplace_back(r.id, std::make_unique<Live>(std::move(r.begin)));
    return;
  }
  if (it == live_.end()) return;  // finished here at a stop string: the rest is dropped
  Live& live = *it->second;
  if (r.kind == OutputRecord::Kind::kFinish) {
    if (live.first_token_us == 0) live.first_token_us = r.first_token_us;
    Emit(r.id, live, r.finish, std::move(r.error), NowUs());
    live_.erase(it);
    return;
  }
  if (live.first_token_us == 0) live.first_token_us = r.time_us;
  ++live.completion_tokens;
  tokens_generated_.fetch_add(1, std::memory_order_relaxed);
  std::string text = live.text.Push(model_.TokenPiece(r.token));
  if (!text.empty()) {
    GenerationEvent e;
    e.text = std::move(text);
    live.request->on_event(e);
  }
  if (live.text.stopped()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_.push_back(r.id);
    }
    Emit(r.id, live, FinishReason::kStop, Status::Ok(), r.time_us);
    live_.erase(it);
  }
}

void OutputStage::Emit(uint64_t id, Live& live, FinishReason reason, Status error, int64_t now_us) {
  if (reason == FinishReason::kStop || reason == FinishReason::kLength) {
    std::string rest = live.text.Flush();
    if (!rest.empty()) {
      GenerationEvent e;
      e.text = std::move(rest);
      live.request->on_event(e);
    }
  }
  const OutputRequest& req = *live.request;
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::kFinished;
  e.finish = reason;
  e.error = std::move(error);
  e.prompt_tokens = req.prompt_tokens;
  e.completion_tokens = live.completion_tokens;
  e.queue_ms = static_cast<double>(req.admitted_us - req.submitted_us) / 1000.0;
  if (live.first_token_us) {
    e.prompt_ms = static_cast<double>(live.first_token_us - req.admitted_us) / 1000.0;
    e.generation_ms = static_cast<double>(std::max(now_us, live.first_token_us) - live.first_token_us) / 1000.0;
  }
  requests_finished_.fetch_add(1, std::memory_order_relaxed);
  prompt_tokens_.fetch_add(req.prompt_tokens, std::memory_order_relaxed);
  EventCallback callback = std::move(live.request->on_event);
  callback(e);
}

}  // namespace cohost::engine
