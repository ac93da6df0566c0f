// HoldQueue: the bounded per-component admission for requests held while a component has no
// ready copy (a cold start, DESIGN.md decision 4). The router holds a request by taking a ticket;
// the ticket's lifetime is the hold. Counts are visible to the autoscaler through the
// cohost_requests_held gauge (the hold itself is what triggers scale from zero).
//
// Thread safety: any thread may call TryEnter() and Held(); a Ticket may be destroyed anywhere.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/metrics.h"

namespace cohost::router {

class HoldQueue {
 public:
  // `metrics` may be null (no gauge); it must outlive the queue.
  explicit HoldQueue(MetricsRegistry* metrics) : metrics_(metrics) {}

  // Releases its place when destroyed.
  class Ticket {
   public:
    Ticket(HoldQueue* queue, std::string component) : queue_(queue), component_(std::move(component)) {}
    ~Ticket() { queue_->Leave(component_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    HoldQueue* queue_;
    std::string component_;
  };

  // A place in the component's queue, or nullptr when `max_held` requests are held already.
  std::unique_ptr<Ticket> TryEnter(const std::string& component, int max_held);
  // Requests held for the component now.
  int Held(const std::string& component) const;

 private:
  void Leave(const std::string& component);
  void Publish(const std::string& component, int held);  // REQUIRES: mu_ held

  MetricsRegistry* const metrics_;
  mutable std::mutex mu_;
  std::map<std::string, int> held_;  // guarded by mu_
};

}  // namespace cohost::router
