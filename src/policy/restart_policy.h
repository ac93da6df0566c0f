// Restart policy: what to do after a copy's runner process exits unexpectedly.
//
// Pure: a function of the copy's crash history (the times its runner exited), the current time
// and the options. No I/O, no clock, no threads; the live agent and the simulator call the same
// code, and tests pass explicit times.
//
// Rules:
//   - Only crashes within `window` before the latest one count ("recent crashes").
//   - At `max_crashes` recent crashes the copy gives up: it is failed, with a reason that says how
//     many crashes in how long.
//   - Otherwise the next start waits after the latest crash for
//     min(initial_backoff * factor^(recent - 1), max_backoff): 1 s, 2 s, 4 s, ... 30 s by default.
//   - An empty history means nothing crashed: start now.
//
// Thread safety: free functions over values; call from any thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cohost::policy {

using RestartTime = std::chrono::steady_clock::time_point;

struct RestartOptions {
  // Wait before the first restart after a crash.
  std::chrono::milliseconds initial_backoff{1000};
  // Each further recent crash multiplies the wait by this (>= 1).
  double backoff_factor = 2.0;
  // The wait never exceeds this.
  std::chrono::milliseconds max_backoff{30000};
  // This many crashes within `window` mark the copy failed (>= 1).
  int max_crashes = 5;
  // Crashes older than this (before the latest one) are forgotten.
  std::chrono::milliseconds window{300000};
};

// Clamps options into range: negative durations to 0, factor to >= 1, max_crashes to >= 1,
// max_backoff to >= initial_backoff.
RestartOptions SanitizeRestartOptions(RestartOptions options);

enum class RestartAction {
  kRestartNow,  // start the runner again now
  kWait,        // start it again at `restart_at`
  kGiveUp,      // do not start it again: the copy is failed
};

const char* RestartActionName(RestartAction action);

struct RestartDecision {
  RestartAction action = RestartAction::kRestartNow;
  RestartTime restart_at{};  // kRestartNow: `now`; kWait: when; kGiveUp: unset
  int recent_crashes = 0;    // crashes that counted
  std::chrono::milliseconds backoff{0};
  std::string reason;        // human-readable, for events
};

// Decides after a crash. `crashes` are the times the runner exited unexpectedly, in any order
// (the latest one is the crash being decided on). `options` are sanitized first.
RestartDecision DecideRestart(const std::vector<RestartTime>& crashes, RestartTime now,
                              const RestartOptions& options);

// Removes crashes that can no longer count (older than `window` before `now`), so a history kept
// for a long-lived copy stays small. Keeps the order of the rest.
void PruneCrashHistory(std::vector<RestartTime>* crashes, RestartTime now,
                       const RestartOptions& options);

}  // namespace cohost::policy
