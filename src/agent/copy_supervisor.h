// CopySupervisor: the node agent's keeper of ONE copy, i.e. one `cohost runner` process.
//
// It starts the runner on a Unix socket, health-checks it (/healthz), restarts it with backoff
// when it dies (policy/restart_policy.h), marks the copy failed after repeated crashes with the
// runner's own last error as the reason, and drains it: once the router stops sending it requests
// (the router reads kDraining), the supervisor waits until the runner's /stats shows no busy slot
// and an empty queue, then stops it with SIGTERM; past the drain deadline it kills it.
// States and transitions: agent/copy_state.h.
//
// Time is an argument: every call takes `now` (a steady_clock time), and nothing here reads a
// clock or sleeps, except Stop(), which blocks up to `stop_grace` waiting for the runner to exit,
// and a start from a standby (SupervisorOptions::standby), which waits up to 3 s for a standby
// that is still starting up to take the copy.
// The owner calls Poll() periodically (every 100 ms to 1 s, say); the supervisor only moves
// forward inside calls. What does real I/O: spawning, reaping and signalling the process, reading
// the tail of the runner's log when it exits, and blocking HTTP requests to the runner's socket
// (each bounded by `request_timeout`) from Poll().
//
// Events (state changes and their reasons) go to the sink passed at creation, synchronously, from
// inside the call that caused them.
//
// Thread safety: none. One owner thread makes every call, including the sink's callbacks (the
// sink must not call back into the supervisor, except the const accessors). Destroying the
// supervisor kills (SIGKILL) a runner that is still running; call Stop() first for a clean exit.
//
// Out of scope here: counting in-flight requests (the router does; draining trusts the runner's
// /stats), pinning a runner to its assigned devices (the launch has no device list yet).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/copy_state.h"
#include "agent/runner_command.h"
#include "agent/runner_log.h"
#include "core/status.h"
#include "net/http_client.h"
#include "policy/restart_policy.h"
#include "sys/process.h"

namespace cohost::agent {

using SupervisorTime = std::chrono::steady_clock::time_point;
class StandbyPool;

// One thing that happened to a copy, for the control plane's event log.
struct CopyEvent {
  SupervisorTime time;  // the `now` of the call that produced it
  std::string copy_id;
  // A word: "started", "ready", "exited", "restart_scheduled", "restarting", "failed",
  // "unhealthy", "load_timeout", "draining", "stopping", "drain_deadline", "stopped", "load_progress".
  std::string reason;
  std::string message;  // for people: what happened and why, with the runner's error if any
  CopyState state = CopyState::kPending;  // the copy's state after the event
};

// Receives events; called on the owner thread, inside Start/Poll/Drain/Stop.
using CopyEventSink = std::function<void(const CopyEvent&)>;

struct SupervisorOptions {
  // Restart backoff and when to give up.
  policy::RestartOptions restart;

  // Health.
  // A runner that is not healthy this long after it was started is killed (counts as a crash).
  std::chrono::milliseconds load_timeout{std::chrono::minutes(5)};
  // Each HTTP request to the runner (/healthz, /stats) gives up after this.
  std::chrono::milliseconds request_timeout{2000};
  // A ready copy's /healthz is checked at most this often.
  std::chrono::milliseconds health_interval{1000};
  // This many failed health checks in a row kill a ready runner (counts as a crash).
  int unhealthy_threshold = 3;

  // Draining and stopping.
  // A draining runner is stopped once /stats has shown it idle (no busy slot, empty queue) for
  // this long: responses finish being written after their slot frees, and a request the router
  // sent just before the drain may still be on its way into the queue.
  std::chrono::milliseconds drain_quiet{200};
  // A draining runner still busy this long after Drain() is killed.
  std::chrono::milliseconds drain_timeout{std::chrono::minutes(5)};
  // After SIGTERM, the runner gets this long to exit before SIGKILL.
  std::chrono::milliseconds stop_grace{10000};

  // Start runners from this pool of standbys when it has one for the runner's environment (and
  // ask it to keep one ready); null: every runner is a fresh process. Not owned; outlives the
  // supervisor; used on the owner thread only.
  StandbyPool* standby = nullptr;
};

class CopySupervisor {
 public:
  // A supervisor for copy `copy_id` in state kPending; nothing is started yet.
  // Errors: kInvalidArgument (naming the field) for an empty copy_id or a launch that
  // BuildRunnerArgv refuses. Options are clamped into range (restart options sanitized,
  // thresholds at least 1, durations at least 0).
  static StatusOr<std::unique_ptr<CopySupervisor>> Create(std::string copy_id, RunnerLaunch launch,
                                                          SupervisorOptions options,
                                                          CopyEventSink sink);
  ~CopySupervisor();
  CopySupervisor(const CopySupervisor&) = delete;
  CopySupervisor& operator=(const CopySupervisor&) = delete;

  // Spawns the runner: kPending -> kLoading. A spawn that fails counts as a crash (so the copy
  // waits and retries, and eventually fails), and is not an error of this call.
  // Errors: kFailedPrecondition when Start() was called before.
  Status Start(SupervisorTime now);

  // Moves the copy forward: reaps an exited runner (restart later, or failed), starts one whose
  // backoff is over, checks health (kLoading -> kReady; a ready runner that stops answering is
  // killed), and advances a drain. Call it periodically; does nothing in a final state.
  void Poll(SupervisorTime now);
  // Requests the router has sent to this copy and not yet seen answered. A draining copy is not
  // stopped while this is above zero (a request sent from a route snapshot taken before the drain
  // may not have reached the runner's queue yet); the drain deadline still applies.
  void SetRouterInFlight(int requests) { router_in_flight_ = requests; }

  // Begins draining. kReady -> kDraining: the router must send no more requests; Poll() stops the
  // runner once it is idle, or kills it at now + drain_timeout. A copy that is not ready yet has
  // nothing in flight: it is stopped at once (kStopped). No-op when draining or final.
  void Drain(SupervisorTime now);

  // Stops the copy now, whatever it is doing: SIGTERM, then SIGKILL after `stop_grace`. Blocks
  // until the runner has exited. In-flight requests are cut. -> kStopped; no-op when final.
  void Stop(SupervisorTime now);

  CopyState state() const { return state_; }
  // The loading runner's latest progress (streamed loads report it about once a second);
  // nullopt when it has reported none, or is not loading.
  const std::optional<LoadProgress>& load_progress() const { return load_progress_; }
  const std::string& id() const { return id_; }
  // The runner's address ("unix:/path").
  const net::Address& address() const { return address_; }
  // The running runner's pid; nullopt when no runner process is alive.
  std::optional<pid_t> pid() const;
  // How many times a runner was spawned (1 after a clean Start, +1 per restart).
  int starts() const { return starts_; }
  // Why the last runner ended unexpectedly (with the runner's own error when it logged one);
  // empty when none has.
  const std::string& last_error() const { return last_error_; }
  // When a pending copy will be started again (meaningful in kPending after a crash).
  SupervisorTime restart_at() const { return restart_at_; }

 private:
  CopySupervisor(std::string id, RunnerLaunch launch, std::vector<std::string> argv,
                 SupervisorOptions options, CopyEventSink sink);

  void Spawn(SupervisorTime now, const char* reason);
  // Reaps an exited runner; true (and handles the crash) when it had exited.
  bool ReapIfExited(SupervisorTime now);
  void HandleCrash(SupervisorTime now, const std::string& message);
  void PollLoading(SupervisorTime now);
  void PollLoadProgress(SupervisorTime now);
  void PollReady(SupervisorTime now);
  void PollDraining(SupervisorTime now);
  // Kills the runner (SIGKILL) and reaps it; no-op without one.
  void Kill();
  // Whether GET /healthz answers 200 (a failed request resets the connection).
  bool Healthy();
  // Whether /stats shows no busy slot and an empty queue; nullopt when it cannot be read.
  std::optional<bool> RunnerIdle();
  // "exited with status 1: cannot load model: ..." from the exit status and this run's log.
  std::string DescribeExit(int status) const;
  void SetState(CopyState next);
  void Emit(SupervisorTime now, std::string reason, std::string message);

  // Constant after construction.
  const std::string id_;
  const RunnerLaunch launch_;
  const std::vector<std::string> argv_;
  const SupervisorOptions options_;
  const CopyEventSink sink_;
  const net::Address address_;

  // Owner-thread state.
  CopyState state_ = CopyState::kPending;
  bool started_ = false;
  std::optional<sys::Process> process_;
  net::HttpClient client_;
  int starts_ = 0;
  std::vector<SupervisorTime> crashes_;  // exit times within the restart window
  std::string last_error_;
  SupervisorTime restart_at_{};
  SupervisorTime loading_since_{};
  uint64_t log_offset_ = 0;  // where this run's output begins in the log file
  std::optional<LoadProgress> load_progress_;
  SupervisorTime next_progress_check_{};
  SupervisorTime next_progress_event_{};
  SupervisorTime next_health_check_{};
  int failed_health_checks_ = 0;
  SupervisorTime drain_deadline_{};
  std::optional<SupervisorTime> idle_since_;
  int router_in_flight_ = 0;
  std::optional<SupervisorTime> terminate_sent_at_;
};

}  // namespace cohost::agent
