#include "engine/parallel_for.h"

namespace cohost::engine {

ParallelFor::ParallelFor(int helpers) {
  for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { Work(); });
}

ParallelFor::~ParallelFor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ParallelFor::Drain() {
  for (int i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) (*fn_)(i);
}

void ParallelFor::Run(int n, const std::function<void(int)>& fn) {
  if (threads_.empty() || n < 2) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    busy_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  Drain();
  std::unique_lock<std::mutex> l(mu_);
  done_cv_.wait(l, [this] { return busy_ == 0; });
  fn_ = nullptr;
}

void ParallelFor::Work() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      start_cv_.wait(l, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    Drain();
    {
      std::lock_guard<std::mutex> l(mu_);
      --busy_;
    }
    done_cv_.notify_one();
  }
}

}  // namespace cohost::engine
