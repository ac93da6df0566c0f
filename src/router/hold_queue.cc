#include "router/hold_queue.h"

#include "core/metric_names.h"

namespace cohost::router {

std::unique_ptr<HoldQueue::Ticket> HoldQueue::TryEnter(const std::string& component, int max_held) {
  std::lock_guard<std::mutex> l(mu_);
  int& n = held_[component];
  if (n >= max_held) return nullptr;
  ++n;
  Publish(component, n);
  if (metrics_) metrics_->Get(metric::kHeldTotal, {{"component", component}}).Add(1);
  return std::make_unique<Ticket>(this, component);
}

int HoldQueue::Held(const std::string& component) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = held_.find(component);
  return it == held_.end() ? 0 : it->second;
}

void HoldQueue::Leave(const std::string& component) {
  std::lock_guard<std::mutex> l(mu_);
  int& n = held_[component];
  if (n > 0) --n;
  Publish(component, n);
}

void HoldQueue::Publish(const std::string& component, int held) {
  if (metrics_) metrics_->Get(metric::kRequestsHeld, {{"component", component}}).Set(held);
}

}  // namespace cohost::router
