#include "control/autoscaler.h"

#include <algorithm>

#include "core/metric_names.h"

namespace cohost::control {

policy::ScaleObservation Autoscaler::Observe(const std::string& component, Tracked& t,
                                             policy::ScaleTime now) {
  const Labels labels = {{"component", component}};
  policy::ScaleObservation o;
  o.in_flight = metrics_.Value(metric::kRequestsInFlight, labels);
  o.waiting = metrics_.Value(metric::kRequestsHeld, labels);
  // Of those in flight, the ones a runner queues for a slot (its /stats, scraped).
  o.queued_in_copies = metrics_.Sum(metric::kCopyQueued, labels);
  // Answered requests plus those in flight or held: every request that arrived.
  double total = metrics_.Sum(metric::kRequestsTotal, labels) + o.in_flight + o.waiting;
  t.totals.emplace_back(now, total);
  while (t.totals.size() > 1 && now - t.totals.front().first > std::chrono::seconds(60)) t.totals.pop_front();
  o.invocations_per_minute = std::max(0.0, total - t.totals.front().second);
  // A request that came and went between two ticks still shows as a change of the total.
  if (t.last_total >= 0 && total > t.last_total) t.observation.last_request_at = now;
  o.last_request_at = t.observation.last_request_at;
  t.last_total = total;
  t.observation = o;
  return o;
}

std::vector<ScaleChange> Autoscaler::Tick(const std::vector<InferenceComponent>& specs,
                                          policy::ScaleTime now) {
  std::vector<ScaleChange> changes;
  std::map<std::string, Tracked> next;
  std::map<std::string, int> user_set;
  {
    std::lock_guard<std::mutex> l(user_mu_);
    user_set.swap(user_set_);
  }
  for (const InferenceComponent& spec : specs) {
    Tracked t = std::move(tracked_[spec.name]);
    if (auto u = user_set.find(spec.name); u != user_set.end() && t.last_initial >= 0) {
      // A user set the copy count (through the API, maybe to the value it had): take it as given.
      t.state = policy::SetDesiredCopies(std::move(t.state), u->second, now);
    } else if (t.last_initial >= 0 && spec.copies.initial != t.last_initial) {
      // A user set the copy count: take it as given.
      t.state = policy::SetDesiredCopies(std::move(t.state), spec.copies.initial, now);
    }
    t.last_initial = spec.copies.initial;
    policy::ScaleObservation o = Observe(spec.name, t, now);
    policy::ScaleDecision d = policy::DecideScale(spec.scaling, spec.copies, t.state, o, now);
    t.state = d.next;
    const Labels labels = {{"component", spec.name}};
    metrics_.Get(metric::kCopiesDesired, labels).Set(d.desired);
    if (d.direction != policy::ScaleDirection::kNone) {
      metrics_.Get(metric::kScalingEventsTotal,
                   {{"component", spec.name}, {"direction", policy::ScaleDirectionName(d.direction)}})
          .Add(1);
      changes.push_back({spec.name, std::move(d)});
    }
    next[spec.name] = std::move(t);
  }
  tracked_ = std::move(next);
  return changes;
}

int Autoscaler::Desired(const InferenceComponent& spec) const {
  auto it = tracked_.find(spec.name);
  if (it == tracked_.end() || it->second.state.desired < 0) return spec.copies.initial;
  return it->second.state.desired;
}

void Autoscaler::Evicted(const std::string& component, policy::ScaleTime now) {
  auto it = tracked_.find(component);
  if (it == tracked_.end() || it->second.state.desired <= 0) return;
  const int copies = it->second.state.desired - 1;
  it->second.state = policy::SetDesiredCopies(it->second.state, copies, now);
  metrics_.Get(metric::kCopiesDesired, {{"component", component}}).Set(it->second.state.desired);
}

policy::ScaleObservation Autoscaler::LastObservation(const std::string& component) const {
  auto it = tracked_.find(component);
  return it == tracked_.end() ? policy::ScaleObservation{} : it->second.observation;
}

void Autoscaler::UserSetCopies(const std::string& component, int copies) {
  std::lock_guard<std::mutex> l(user_mu_);
  user_set_[component] = copies;
}

}  // namespace cohost::control
