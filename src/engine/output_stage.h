// OutputStage: the host work of generation that does not decide the next step (detokenizing,
// stop strings, events to callers), on its own thread, so that it overlaps the next decode step
// instead of running in series with it.
//
// The scheduler's inference thread decides everything that shapes the next batch at once, from
// token ids alone: end-of-generation tokens, max_tokens, the context limit, cancellation. It posts
// one batch of records per decode step (Post). The stage turns each request's tokens into text
// (TextAssembler), finds stop strings, and calls the request's callback, in order, ending with
// exactly one kFinished event. A stop string is the one decision only the text can make: the
// stage finishes the request itself and reports its id (TakeStopped); the inference thread then
// frees the slot at its next step, and drops the at most one or two tokens it decoded meanwhile.
//
// Pipeline depth: at most `max_lag_steps` posted steps wait for the stage (WaitForRoom), so a slow
// callback slows decoding instead of queueing without bound, and a request whose callback blocks
// stops the inference thread within that many steps (as it did when callbacks ran inline).
//
// Request lifecycle as the stage sees it:  kBegin ──► kToken* ──► kFinish
//                                                       └──► stop string: finished here; later
//                                                            records of the id are dropped
// Threads: the constructor starts the stage thread, the destructor (after Close) joins it.
// Post, WaitForRoom, TakeStopped, Close and the counters may be called from any thread; in
// practice Post and WaitForRoom come from the one inference thread. Callbacks run on the stage
// thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "engine/generation.h"
#include "engine/model.h"

namespace cohost::engine {

// What the stage keeps of one request between its kBegin and kFinish records.
struct OutputRequest {
  EventCallback on_event;
  std::vector<std::string> stop;
  int prompt_tokens = 0;
  int64_t submitted_us = 0;
  int64_t admitted_us = 0;
};

struct OutputRecord {
  enum class Kind : uint8_t {
    kBegin,   // a request took a slot; `begin` holds what the stage keeps of it
    kToken,   // one generated token (not an end-of-generation token); `time_us`: when sampled
    kFinish,  // the inference thread ended the request (eos, length, cancel, error)
  };
  Kind kind = Kind::kToken;
  uint64_t id = 0;
  Token token = 0;
  int64_t time_us = 0;
  FinishReason finish = FinishReason::kStop;
  int64_t first_token_us = 0;            // kFinish: when its first token was sampled (0: none)
  Status error;                          // kFinish with kError
  std::unique_ptr<OutputRequest> begin;  // kBegin
};

class OutputStage {
 public:
  // `model` (for token pieces) must outlive the stage. max_lag_steps >= 1.
  OutputStage(const Model& model, int max_lag_steps);
  ~OutputStage();  // Close()s, then joins the stage thread
  OutputStage(const OutputStage&) = delete;
  OutputStage& operator=(const OutputStage&) = delete;

  // Hands one step's records to the stage (in order; may be empty, which still counts as a step).
  void Post(std::vector<OutputRecord> records);
  // Blocks while `max_lag_steps` posted steps are still unprocessed, or until `give_up` returns
  // true (checked when woken and every millisecond). Returns at once after Close().
  template <typename Pred>
  void WaitForRoom(Pred give_up);
  // Ids of requests the stage finished at a stop string since the last call.
  std::vector<uint64_t> TakeStopped();
  // Processes everything posted so far, then stops the thread. Idempotent.
  void Close();

  // Counters over finished requests (published as the stage finishes them).
  int64_t requests_finished() const { return requests_finished_.load(std::memory_order_relaxed); }
  int64_t tokens_generated() const { return tokens_generated_.load(std::memory_order_relaxed); }
  int64_t prompt_tokens() const { return prompt_tokens_.load(std::memory_order_relaxed); }

 private:
  struct Live;
  void Loop();
  void Process(OutputRecord& r);
  void Emit(uint64_t id, Live& live, FinishReason reason, Status error, int64_t now_us);

  // Constant after construction.
  const Model& model_;
  const int max_lag_;

  // Owned by the stage thread.
  std::vector<std::pair<uint64_t, std::unique_ptr<Live>>> live_;  // few: one per busy slot

  // Protected by mu_.
  std::mutex mu_;
  std::condition_variable cv_;       // the stage waits for records
  std::condition_variable room_cv_;  // the inference thread waits for room
  std::vector<OutputRecord> pending_;
  std::vector<uint64_t> stopped_;
  int64_t steps_posted_ = 0;
  int64_t steps_done_ = 0;
  bool closing_ = false;

  std::atomic<int64_t> requests_finished_{0};
  std::atomic<int64_t> tokens_generated_{0};
  std::atomic<int64_t> prompt_tokens_{0};

  std::thread thread_;
};

template <typename Pred>
void OutputStage::WaitForRoom(Pred give_up) {
  std::unique_lock<std::mutex> l(mu_);
  while (!closing_ && steps_posted_ - steps_done_ >= max_lag_) {
    l.unlock();
    if (give_up()) return;
    l.lock();
    room_cv_.wait_for(l, std::chrono::milliseconds(1), [this] {
      return closing_ || steps_posted_ - steps_done_ < max_lag_;
    });
  }
}

}  // namespace cohost::engine
