// EventLog: appends events to the state store's event log, and keeps the ones the store cannot
// take for a while (a full disk, a read-only file system) instead of losing them.
//
// Append() first writes the events still pending, oldest first, then the new one, so the log
// keeps their order. A write the store refuses is logged (a warning at the first failure of an
// outage and when it ends), counted in cohost_event_write_failures_total, and the event (with
// every later one) waits in a bounded in-memory queue (cohost_events_pending); when the queue is
// full the oldest pending event is dropped (cohost_events_dropped_total). Flush() retries the
// queue (the node controller calls it every tick). Pending() shows the queued events, so the
// events API can serve them meanwhile.
//
// Thread safety: every method may be called from any thread (one mutex; a store write happens
// under it, so events keep one order).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "core/metrics.h"
#include "store/state_store.h"

namespace cohost::control {

struct EventLogOptions {
  // Events kept in memory while the store refuses writes; beyond it the oldest are dropped.
  size_t max_pending = 10000;
  // Failure, pending and dropped counts go here (core/metric_names.h); null: none. Must outlive
  // the log.
  MetricsRegistry* metrics = nullptr;
};

class EventLog {
 public:
  // `store` must outlive the log.
  EventLog(store::StateStore& store, EventLogOptions options);

  // Writes `event` (its sequence is ignored) after any pending ones; on failure it is kept.
  void Append(store::Event event);
  // Writes the pending events, oldest first, until one is refused. Returns how many remain.
  size_t Flush();
  // The pending events that match `query`'s kind and name (sequence 0: not written yet), oldest
  // first. include_copies is honoured as in StateStore::ListEvents; after_sequence and limit
  // are not (none of these has a sequence yet).
  std::vector<store::Event> Pending(const store::EventQuery& query) const;
  size_t pending() const;

 private:
  // REQUIRES: mu_ held. Writes pending events until one fails; true when none is left.
  bool FlushLocked();
  void PublishLocked();  // REQUIRES: mu_ held

  store::StateStore& store_;
  const EventLogOptions options_;
  mutable std::mutex mu_;
  std::deque<store::Event> pending_;  // guarded by mu_
  bool failing_ = false;              // guarded by mu_: the last write failed (for the log lines)
};

}  // namespace cohost::control
