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
// Host work off the critical path: greedy rows of a step are sampled in parallel (ParallelFor),
// or inside the decode graph on the model's backend with backend_sampling (Sampler::Attach); the
// inference thread decides from the token ids alone what the next step holds (end of
// generation, max_tokens, context, cancellation) and hands them to an OutputStage, whose thread
// detokenizes, finds stop strings and calls back while the next step computes (output_stage.h).
//
// Threads: Start() launches one inference thread that owns the llama_context and all slots, and
// the output stage's thread delivers events. Submit(), Cancel(), GetStats() and Stop() may be
// called from any thread. Event callbacks run on the output stage's thread, in order per request.
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

class OutputStage;
class ParallelFor;
struct OutputRecord;

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
  // Sample inside the decode graph on the model's backend where llama.cpp can (greedy and
  // top-k/top-p/min-p/temperature without penalties): only token ids come back to the host.
  // Off (the default): every slot samples on the host from its row of logits. Measured on an
  // H200 (1B F16, 64 streams) llama.cpp's per-sequence sampler graphs made a decode step about
  // 1 ms longer than the host work they saved, and a single stream 0.4 ms per token slower.
  bool backend_sampling = false;
  // Helper threads that take greedy rows of a step beside the inference thread (host sampling
  // of many streams: 64 rows of a 32k vocabulary took 1.5 ms on one thread). -1: a quarter of
  // the hardware threads, at most 7 (none on a machine with fewer than 8).
  int sampling_threads = -1;
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
  // Where the inference thread's time goes, summed over steps: inside llama_decode until the
  // step's outputs (token ids or logits) are on the host, and the whole step (batch building,
  // decode, sampling, handing tokens to the output stage, waiting for it when it is behind).
  // (step_us - decode_us) / decode_steps is the host work per step on the critical path.
  int64_t decode_us = 0;
  int64_t step_us = 0;
};

class Scheduler {
 public:
  // Creates the llama.cpp context sized for options (context × parallel KV cells).
  // Errors: kInvalidArgument naming the option; kResourceExhausted when llama.cpp cannot allocate.
  // `model` must outlive the Scheduler.
  static StatusOr<std::unique_ptr<Scheduler>> Create(const Model& model, SchedulerOptions options);
  ~Scheduler();  // Stop()s first

  void Start();
  // Stops the inference thread; every queued and running request finishes with kCancelled, and
  // every event is delivered before Stop() returns. (Before Start(), queued requests get that
  // event on the calling thread.)
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
  void HandleToken(Slot& slot, Token token, int64_t now_us);
  // Fills sampled_[i] with the token for outputs[i] (slot, row of the last decode).
  void SampleOutputs(const std::vector<std::pair<Slot*, int>>& outputs);
  // Ends the slot's request: a kFinish record for the output stage, then Release.
  void Finish(Slot& slot, FinishReason reason, Status error = {});
  // Frees the slot and its KV cells; no record (the output stage already finished the request,
  // or Finish posted one).
  void Release(Slot& slot);
  // Frees the slots of requests the output stage finished at a stop string.
  void ReleaseStopped();
  // Hands this step's records to the output stage, waiting while it is kMaxOutputLagSteps behind.
  void PostRecords();
  void PublishStats();

  // Steps of output that may wait for the output stage before decoding waits for it.
  static constexpr int kMaxOutputLagSteps = 2;

  // Constant after construction.
  const Model& model_;
  const SchedulerOptions options_;
  llama_context* ctx_ = nullptr;
  int slot_context_ = 0;

  // Owned by the inference thread.
  std::unique_ptr<Batch> batch_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<OutputRecord> records_;  // this step's, for the output stage
  std::vector<Token> sampled_;         // this step's tokens, by output
  std::vector<std::pair<size_t, const float*>> greedy_rows_;  // output index, its logits
  uint64_t admissions_ = 0;
  int64_t allocated_bytes_ = 0;
  int64_t decode_steps_ = 0;
  int64_t decode_us_ = 0;
  int64_t step_us_ = 0;

  // Constant after construction; thread-safe itself.
  std::unique_ptr<OutputStage> output_;
  // Used by the inference thread only.
  std::unique_ptr<ParallelFor> sampling_pool_;

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
