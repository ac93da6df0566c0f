// Autoscaler: the live driver of policy::DecideScale. Each Tick(specs, now) observes every
// component through the metrics registry (the same series GET /metrics shows: requests in
// flight, held, answered) and decides its desired copy count; the node controller converges the
// copies to it (scale-in drains the least-loaded copies).
//
// A user's explicit copy count (a change of copies.initial) is taken as the new desired count,
// held for the scale-in cooldown. An eviction lowers the evicted component's count by one.
//
// Threads: Tick(), Evicted() and Desired() from one owner thread (serve's reconcile thread);
// UserSetCopies() from any thread (the control API's).
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/component.h"
#include "core/metrics.h"
#include "policy/autoscale.h"

namespace cohost::control {

struct ScaleChange {
  std::string component;
  policy::ScaleDecision decision;  // direction != kNone
};

class Autoscaler {
 public:
  // `metrics` must outlive the autoscaler and have cohost's families declared.
  explicit Autoscaler(MetricsRegistry& metrics) : metrics_(metrics) {}

  // Decides every component's desired count. Returns the changes made by the policy (for
  // events); Desired() has every count afterwards. Components no longer in `specs` are dropped.
  std::vector<ScaleChange> Tick(const std::vector<InferenceComponent>& specs, policy::ScaleTime now);

  // The desired count of a component (its copies.initial before its first Tick).
  int Desired(const InferenceComponent& spec) const;

  // A user set the component's copy count (copies.initial in an update, even to the value it
  // had): the next Tick takes it as the desired count, held for the scale-in cooldown.
  void UserSetCopies(const std::string& component, int copies);

  // One copy of `component` was evicted: its desired count drops by one, held for the cooldown.
  void Evicted(const std::string& component, policy::ScaleTime now);

  // What the autoscaler observed of a component at its last Tick (for tests and status).
  policy::ScaleObservation LastObservation(const std::string& component) const;

 private:
  struct Tracked {
    policy::ScalingState state;
    int last_initial = -1;   // copies.initial when last seen: a change is a user's scaling
    double last_total = -1;  // cohost_requests_total (all outcomes) at the last tick
    std::deque<std::pair<policy::ScaleTime, double>> totals;  // the last minute of samples
    policy::ScaleObservation observation;
  };
  policy::ScaleObservation Observe(const std::string& component, Tracked& t, policy::ScaleTime now);

  MetricsRegistry& metrics_;
  std::map<std::string, Tracked> tracked_;
  std::mutex user_mu_;
  std::map<std::string, int> user_set_;  // guarded by user_mu_: counts set since the last Tick
};

}  // namespace cohost::control
