#include "control/event_log.h"

#include <string>

#include "core/log.h"
#include "core/metric_names.h"

namespace cohost::control {
namespace {

// "alpha-12" is a copy of "alpha"; "alpha-beta-1" and "alpha-2x" are not (state_store.h).
bool IsCopyOf(const std::string& copy, const std::string& component) {
  if (copy.size() <= component.size() + 1 || copy.compare(0, component.size(), component) != 0 ||
      copy[component.size()] != '-')
    return false;
  for (size_t i = component.size() + 1; i < copy.size(); ++i) {
    if (copy[i] < '0' || copy[i] > '9') return false;
  }
  return true;
}

}  // namespace

EventLog::EventLog(store::StateStore& store, EventLogOptions options)
    : store_(store), options_(std::move(options)) {}

void EventLog::Append(store::Event event) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.push_back(std::move(event));
  if (pending_.size() > options_.max_pending) {
    pending_.pop_front();
    if (options_.metrics != nullptr) options_.metrics->Get(metric::kEventsDroppedTotal).Add(1);
  }
  FlushLocked();
  PublishLocked();
}

size_t EventLog::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  if (!pending_.empty()) {
    FlushLocked();
    PublishLocked();
  }
  return pending_.size();
}

bool EventLog::FlushLocked() {
  while (!pending_.empty()) {
    StatusOr<int64_t> seq = store_.AppendEvent(pending_.front());
    if (!seq.ok()) {
      if (options_.metrics != nullptr) options_.metrics->Get(metric::kEventWriteFailuresTotal).Add(1);
      if (!failing_) {
        log::Warn("cannot write events to the state store; keeping them in memory and retrying",
                  {{"error", seq.status().ToString()}, {"pending", static_cast<int64_t>(pending_.size())}});
      }
      failing_ = true;
      return false;
    }
    pending_.pop_front();
  }
  if (failing_) log::Info("events written to the state store again");
  failing_ = false;
  return true;
}

void EventLog::PublishLocked() {
  if (options_.metrics != nullptr)
    options_.metrics->Get(metric::kEventsPending).Set(static_cast<double>(pending_.size()));
}

std::vector<store::Event> EventLog::Pending(const store::EventQuery& query) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<store::Event> out;
  for (const store::Event& e : pending_) {
    if (!query.subject_kind.empty() && e.subject_kind != query.subject_kind) continue;
    if (!query.subject_name.empty() && e.subject_name != query.subject_name &&
        !(query.include_copies && e.subject_kind == "copy" && IsCopyOf(e.subject_name, query.subject_name)))
      continue;
    out.push_back(e);
  }
  return out;
}

size_t EventLog::pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return pending_.size();
}

}  // namespace cohost::control
