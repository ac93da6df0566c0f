// Scheduler: continuous batching over one llama.cpp context.
//
// Up to `parallel` sequences (slots) share every llama_decode call. New requests join between
// steps; prompts are prefilled in chunks beside running streams (see BatchPlanner); a finished or
// cancelled sequence frees its slot and its KV cells at once. Requests beyond the free slots wait
// in a bounded FIFO queue.
//
// Request lifecycle:   Submit ──► queued ──► admitted (prefill) ──► decoding ──► finished
//                         │          │               └──────────────┴── Cancel ──┘
//                         └─ refused when the queue is full (kResourceExhausted)
//
// Threads: Start() launches one inference thread that owns the llama_context and all slots.
// Submit(), Cancel(), GetStats() and Stop() may be called from any thread. Event callbacks run on
// the inference thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "engine/generation.h"
#include "engine/model.h"

struct llama_context;

namespace cohost::engine {

// Flash attention: llama.cpp decides (`kAuto`: on where the backend supports it), or forced.
enum class FlashAttention { kAuto, kOn, kOff };

struct SchedulerOptions {
  // Capacity.
  int parallel = 4;          // slots: sequences decoded together
  int context = 2048;        // tokens of KV cache per slot (prompt + generated)
  int max_queue = 64;        // requests waiting for a slot; beyond it Submit() refuses
  // Performance.
  int batch = 512;           // most tokens in one llama_decode call (>= parallel)
  int ubatch = 512;          // physical micro-batch
  int max_prefill_chunk = 0; // most prompt tokens one sequence adds per step (0 = batch)
  int threads = 0;           // compute threads (0 = hardware concurrency)
  FlashAttention flash_attention = FlashAttention::kAuto;
  // When the first request arrives at an idle scheduler, wait this long (or until every slot is
  // taken) for others before the first step, so that a burst is prefilled together instead of
  // its first request decoding alone while the rest prefill beside it. 0 disables. Only the
  // idle -> busy transition waits; a busy scheduler admits between steps without waiting.
  int admission_gather_us = 5000;
};

// OK, or InvalidArgument naming the option that is out of range.
Status ValidateSchedulerOptions(const SchedulerOptions& options);

struct SchedulerStats {
  int slots_total = 0;
  int slots_busy = 0;
  int queue_length = 0;
  int64_t kv_cells_used = 0;      // positions held by running sequences
  int64_t requests_finished = 0;
  int64_t tokens_generated = 0;
  int64_t prompt_tokens = 0;      // prompt tokens of finished requests
  int64_t decode_steps = 0;
};

class Scheduler {
 public:
  // Creates the llama.cpp context sized for options (context × parallel KV cells).
  // Errors: kInvalidArgument naming the option; kResourceExhausted when llama.cpp cannot allocate.
  // `model` must outlive the Scheduler.
  static StatusOr<std::unique_ptr<Scheduler>> Create(const Model& model, SchedulerOptions options);
  ~Scheduler();  // Stop()s first

  void Start();
  // Stops the inference thread; every queued and running request finishes with kCancelled.
  // (Before Start(), queued requests get that event on the calling thread.)
  void Stop();

  // Queues a request. On success returns its id; the callback will receive its events.
  // Errors (the callback is then never called):
  //   kInvalidArgument  "prompt" empty or longer than the slot context (code context_length_exceeded),
  //                     "max_tokens" < 1 or prompt + max_tokens over the slot context;
  //   kResourceExhausted the wait queue is full;   kUnavailable  the scheduler is stopped.
  StatusOr<uint64_t> Submit(GenerationRequest request);

  // Cancels a request if it is still queued or running (idempotent; unknown ids are ignored).
  // Its kFinished(kCancelled) event follows within one decode step.
  void Cancel(uint64_t id);

  SchedulerStats GetStats() const;
  const SchedulerOptions& options() const { return options_; }
  int slot_context() const { return slot_context_; }
  // Bytes the context and model hold (weights, KV cache, compute buffers), measured once at
  // creation from llama.cpp's own buffers.
  int64_t allocated_bytes() const { return allocated_bytes_; }

 private:
  struct Slot;
  struct Batch;
  struct Queued {
    uint64_t id;
    GenerationRequest request;
    int64_t submitted_us;
  };

  Scheduler(const Model& model, SchedulerOptions options);
  void Loop();
  // Takes new work and cancellations under the lock; returns false when stopping.
  bool WaitForWork();
  void Admit(Queued&& q);
  void Step();
  void HandleToken(Slot& slot, Token token);
  void Finish(Slot& slot, FinishReason reason, Status error = {});
  void PublishStats();

  // Constant after construction.
  const Model& model_;
  const SchedulerOptions options_;
  llama_context* ctx_ = nullptr;
  int slot_context_ = 0;

  // Owned by the inference thread.
  std::unique_ptr<Batch> batch_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t admissions_ = 0;
  int64_t tokens_generated_ = 0;
  int64_t prompt_tokens_ = 0;
  int64_t allocated_bytes_ = 0;
  int64_t requests_finished_ = 0;
  int64_t decode_steps_ = 0;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  std::vector<uint64_t> cancels_;
  std::vector<Queued> admitted_;  // moved from queue_ to slots by WaitForWork
  bool stopping_ = false;
  bool started_ = false;
  uint64_t next_id_ = 1;
  int active_slots_ = 0;          // mirrors the inference thread's count, for the wait predicate
  SchedulerStats stats_;

  std::thread thread_;
};

}  // namespace cohost::engine
