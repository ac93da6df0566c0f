// Service model of one copy: continuous batching as a fluid, processor-sharing queue.
//
// A request's work is measured in seconds at batch 1: prompt_tokens / prompt_tps +
// output_tokens / decode_tps; its first token is due after prompt_tokens / prompt_tps +
// 1 / decode_tps of that work. With b requests in its slots a copy does speedup(b) work per
// second in total, shared equally, so each request advances at speedup(b) / b. Requests beyond
// the copy's slots wait in its FIFO queue. All in-slot requests share one "virtual clock" V that
// advances at that rate; a request finishes when V reaches V(start) + work, so one heap ordered
// by finish-V gives the next completion in O(log b).
//
// Thread safety: none; one simulation thread owns every CopyServer.
#pragma once

#include <cstdint>
#include <deque>
#include <queue>
#include <vector>

#include "sim/scenario.h"

namespace cohost::sim {

// speedup(b) for b = 0..parallel from a profile (piecewise linear, (1, 1) implied, flat after the
// last point); entry 0 is 0.
std::vector<double> SpeedupTable(const ServiceProfile& profile, int parallel);

// Work of one request in seconds at batch 1, and the part of it before the first token.
double RequestWork(const ServiceProfile& profile, int prompt_tokens, int output_tokens);
double FirstTokenWork(const ServiceProfile& profile, int prompt_tokens);

class CopyServer {
 public:
  // `speedup` from SpeedupTable (size parallel + 1); not owned, must outlive this object.
  explicit CopyServer(const std::vector<double>* speedup) : speedup_(speedup) {}

  // Brings the virtual clock to `now`; for every request whose first token was due in between,
  // calls on_first_token(request, exact time).
  template <typename F>
  void Advance(double now, F&& on_first_token);

  // Adds a request (REQUIRES: Advance(now) was called). It starts at once when a slot is free,
  // otherwise waits in the queue.
  void Add(int64_t request, double work, double first_token_work);
  // Removes every request finished by now (REQUIRES: Advance(now)), appending their ids to
  // *finished, then starts queued requests in the freed slots (their first-token milestones too).
  void CompleteDue(double now, std::vector<int64_t>* finished);

  // When the next in-slot request finishes at the current rate; +inf when none is in a slot.
  double NextCompletion() const;

  int active() const { return static_cast<int>(finish_.size()); }
  int queued() const { return static_cast<int>(queue_.size()); }
  int outstanding() const { return active() + queued(); }
  int slots() const { return static_cast<int>(speedup_->size()) - 1; }
  // speedup(active) / speedup(slots): how busy the copy is, 0..1.
  double Busy() const { return (*speedup_)[active()] / speedup_->back(); }

 private:
  struct Pending {
    int64_t request;
    double work;
    double first_token_work;
  };
  struct Mark {
    double v;
    int64_t request;
    bool operator>(const Mark& o) const { return v != o.v ? v > o.v : request > o.request; }
  };
  using MinHeap = std::priority_queue<Mark, std::vector<Mark>, std::greater<Mark>>;

  double Rate() const;  // per-request progress per second now
  void Start(const Pending& p);

  const std::vector<double>* speedup_;
  double v_ = 0;       // virtual clock
  double last_t_ = 0;  // real time of v_
  MinHeap finish_;
  MinHeap first_token_;
  std::deque<Pending> queue_;
};

template <typename F>
void CopyServer::Advance(double now, F&& on_first_token) {
  if (now <= last_t_) return;
  double rate = Rate();
  double v0 = v_, t0 = last_t_;
  v_ += (now - last_t_) * rate;
  last_t_ = now;
  // Milestones reached in this constant-rate segment: their exact time by interpolation.
  while (!first_token_.empty() && first_token_.top().v <= v_ * (1 + 1e-12) + 1e-9) {
    Mark m = first_token_.top();
    first_token_.pop();
    double t = rate > 0 ? t0 + std::max(0.0, m.v - v0) / rate : now;
    on_first_token(m.request, std::min(t, now));
  }
}

}  // namespace cohost::sim
