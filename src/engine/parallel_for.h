// ParallelFor: a small pool of helper threads that split an index range with the calling thread.
//
// For short bursts of independent work on the hot path (a decode step's greedy argmaxes over
// many rows of logits): the helpers are started once and wait on a condition variable between
// calls, so a call costs a wake-up, not a thread start. With 0 helpers Run() is a plain loop.
//
// Thread safety: Run() from one thread at a time (the scheduler's inference thread); `fn` is
// called concurrently for different indices and must not touch shared state unsynchronized.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cohost::engine {

class ParallelFor {
 public:
  explicit ParallelFor(int helpers);
  ~ParallelFor();
  ParallelFor(const ParallelFor&) = delete;
  ParallelFor& operator=(const ParallelFor&) = delete;

  // Calls fn(i) for every i in [0, n), on the calling thread and the helpers; returns when all
  // are done.
  void Run(int n, const std::function<void(int)>& fn);
  int helpers() const { return static_cast<int>(threads_.size()); }

 private:
  void Work();
  void Drain();

  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  // Protected by mu_ (read by helpers after waking).
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0;
  uint64_t generation_ = 0;
  int busy_ = 0;  // helpers inside the current call
  bool stopping_ = false;
  std::atomic<int> next_{0};
  std::vector<std::thread> threads_;
};

}  // namespace cohost::engine
