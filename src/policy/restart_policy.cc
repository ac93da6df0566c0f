#include "policy/restart_policy.h"

#include <algorithm>
#include <cmath>

namespace cohost::policy {
namespace {

using std::chrono::milliseconds;

std::string Seconds(milliseconds d) {
  // Whole seconds when exact, else milliseconds, so reasons read "300 s" or "250 ms".
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

milliseconds Backoff(int recent, const RestartOptions& o) {
  double ms = static_cast<double>(o.initial_backoff.count()) *
              std::pow(o.backoff_factor, std::max(0, recent - 1));
  double cap = static_cast<double>(o.max_backoff.count());
  return milliseconds(static_cast<int64_t>(std::min(ms, cap)));
}

}  // namespace

RestartOptions SanitizeRestartOptions(RestartOptions o) {
  o.initial_backoff = std::max(o.initial_backoff, milliseconds(0));
  o.max_backoff = std::max(o.max_backoff, o.initial_backoff);
  if (!(o.backoff_factor >= 1.0)) o.backoff_factor = 1.0;  // also catches NaN
  o.max_crashes = std::max(o.max_crashes, 1);
  o.window = std::max(o.window, milliseconds(0));
  return o;
}

const char* RestartActionName(RestartAction action) {
  switch (action) {
    case RestartAction::kRestartNow: return "restart_now";
    case RestartAction::kWait: return "wait";
    case RestartAction::kGiveUp: return "give_up";
  }
  return "unknown";
}

RestartDecision DecideRestart(const std::vector<RestartTime>& crashes, RestartTime now,
                              const RestartOptions& options) {
  RestartOptions o = SanitizeRestartOptions(options);
  RestartDecision d;
  if (crashes.empty()) {
    d.restart_at = now;
    d.reason = "no crashes";
    return d;
  }
  RestartTime latest = *std::max_element(crashes.begin(), crashes.end());
  // Counted against the latest crash, not `now`, so a decision does not change while the copy
  // waits: a copy that gave up stays failed, and a wait never shrinks between polls.
  d.recent_crashes = static_cast<int>(std::count_if(
      crashes.begin(), crashes.end(), [&](RestartTime t) { return latest - t < o.window; }));
  if (d.recent_crashes >= o.max_crashes) {
    d.action = RestartAction::kGiveUp;
    d.reason = "crashed " + std::to_string(d.recent_crashes) + " times within " + Seconds(o.window);
    return d;
  }
  d.backoff = Backoff(d.recent_crashes, o);
  d.restart_at = latest + d.backoff;
  std::string count = "crash " + std::to_string(d.recent_crashes) + " of " +
                      std::to_string(o.max_crashes) + " within " + Seconds(o.window);
  if (now >= d.restart_at) {
    d.action = RestartAction::kRestartNow;
    d.restart_at = now;
    d.reason = count + "; backoff of " + Seconds(d.backoff) + " over";
  } else {
    d.action = RestartAction::kWait;
    d.reason = count + "; restarting after " + Seconds(d.backoff);
  }
  return d;
}

void PruneCrashHistory(std::vector<RestartTime>* crashes, RestartTime now,
                       const RestartOptions& options) {
  RestartOptions o = SanitizeRestartOptions(options);
  std::erase_if(*crashes, [&](RestartTime t) { return now - t >= o.window; });
}

}  // namespace cohost::policy
