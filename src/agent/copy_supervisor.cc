#include "agent/copy_supervisor.h"

#include <signal.h>

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agent/runner_log.h"
#include "agent/standby_pool.h"

namespace cohost::agent {
namespace {

using std::chrono::milliseconds;

// Only the end of a run's log is read for its last error: a verbose runner can write a lot.
constexpr uint64_t kLogTailBytes = 64 * 1024;

int64_t Ms(SupervisorTime::duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  uint64_t size = path.empty() ? 0 : std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

std::string ReadFrom(const std::string& path, uint64_t offset) {
  if (path.empty()) return {};
  uint64_t size = FileSize(path);
  offset = std::max(offset, size > kLogTailBytes ? size - kLogTailBytes : 0);
  if (offset >= size) return {};
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string text(size - offset, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

SupervisorOptions Sanitize(SupervisorOptions o) {
  o.restart = policy::SanitizeRestartOptions(o.restart);
  for (milliseconds* d : {&o.load_timeout, &o.request_timeout, &o.health_interval, &o.drain_quiet,
                          &o.drain_timeout, &o.stop_grace}) {
    *d = std::max(*d, milliseconds(0));
  }
  o.request_timeout = std::max(o.request_timeout, milliseconds(1));
  o.unhealthy_threshold = std::max(o.unhealthy_threshold, 1);
  return o;
}

net::Address SocketAddress(const std::string& path) {
  net::Address a;
  a.unix_socket = path;
  return a;
}

}  // namespace

StatusOr<std::unique_ptr<CopySupervisor>> CopySupervisor::Create(std::string copy_id,
                                                                 RunnerLaunch launch,
                                                                 SupervisorOptions options,
                                                                 CopyEventSink sink) {
  if (copy_id.empty()) return InvalidArgument("copy_id", "is empty");
  ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildRunnerArgv(launch));
  return std::unique_ptr<CopySupervisor>(new CopySupervisor(
      std::move(copy_id), std::move(launch), std::move(argv), Sanitize(options), std::move(sink)));
}

CopySupervisor::CopySupervisor(std::string id, RunnerLaunch launch, std::vector<std::string> argv,
                               SupervisorOptions options, CopyEventSink sink)
    : id_(std::move(id)),
      launch_(std::move(launch)),
      argv_(std::move(argv)),
      options_(options),
      sink_(std::move(sink)),
      address_(SocketAddress(launch_.socket_path)),
      client_(address_, options_.request_timeout) {}

CopySupervisor::~CopySupervisor() = default;  // sys::Process kills a runner still running

std::optional<pid_t> CopySupervisor::pid() const {
  if (!process_) return std::nullopt;
  return process_->pid();
}

Status CopySupervisor::Start(SupervisorTime now) {
  if (started_) {
    return Status(StatusCode::kFailedPrecondition,
                  "copy " + id_ + " was already started (state " + CopyStateName(state_) + ")");
  }
  started_ = true;
  Spawn(now, "started");
  return Status::Ok();
}

void CopySupervisor::Spawn(SupervisorTime now, const char* reason) {
  // Each run's output is appended to the same log, so operators see the whole history; the
  // error of this run is read from where it begins.
  log_offset_ = FileSize(launch_.log_path);
  client_.Close();
  const std::vector<std::string> env = RunnerEnvironment(launch_);
  std::optional<sys::Process> standby;
  if (options_.standby) {
    standby = options_.standby->Take(env, std::vector<std::string>(argv_.begin() + 1, argv_.end()),
                                     launch_.log_path);
    if (!standby) (void)options_.standby->Want(env);  // for the next copy here
  }
  ++starts_;
  if (standby) {
    process_ = std::move(*standby);
  } else {
    auto p = sys::Process::Spawn({argv_, launch_.log_path, env});
    if (!p.ok()) {
      HandleCrash(now, "cannot start the runner: " + p.status().message());
      return;
    }
    process_ = std::move(*p);
  }
  loading_since_ = now;
  failed_health_checks_ = 0;
  SetState(CopyState::kLoading);
  Emit(now, reason,
       "runner pid " + std::to_string(process_->pid()) + (standby ? " (a standby)" : "") + " loading " +
           launch_.model_path + " on " + address_.ToString() + " (start " + std::to_string(starts_) + ")");
}

void CopySupervisor::Poll(SupervisorTime now) {
  switch (state_) {
    case CopyState::kPending:
      if (started_ && now >= restart_at_) Spawn(now, "restarting");
      return;
    case CopyState::kLoading: return PollLoading(now);
    case CopyState::kReady: return PollReady(now);
    case CopyState::kDraining: return PollDraining(now);
    case CopyState::kStopped:
    case CopyState::kFailed: return;
  }
}

void CopySupervisor::PollLoading(SupervisorTime now) {
  if (ReapIfExited(now)) return;
  PollLoadProgress(now);
  if (Healthy()) {
    load_progress_.reset();
    SetState(CopyState::kReady);
    next_health_check_ = now + options_.health_interval;
    Emit(now, "ready", "runner pid " + std::to_string(process_->pid()) + " ready after " +
                           std::to_string(Ms(now - loading_since_)) + " ms");
    return;
  }
  if (now - loading_since_ >= options_.load_timeout) {
    Kill();
    std::string message = "the runner did not become healthy within " +
                          std::to_string(options_.load_timeout.count()) + " ms; killed it";
    Emit(now, "load_timeout", message);
    HandleCrash(now, message);
  }
}

// Reads the runner's latest load progress from its log (twice a second) and reports it as an
// event at most every few seconds, so a long load is visible without flooding the events.
void CopySupervisor::PollLoadProgress(SupervisorTime now) {
  if (now < next_progress_check_ || launch_.log_path.empty()) return;
  next_progress_check_ = now + std::chrono::milliseconds(500);
  std::optional<LoadProgress> p = LastLoadProgressInLog(ReadFrom(launch_.log_path, log_offset_));
  if (!p || p == load_progress_) return;
  load_progress_ = p;
  if (now < next_progress_event_) return;
  next_progress_event_ = now + std::chrono::seconds(3);
  Emit(now, "load_progress", DescribeLoadProgress(*p));
}

void CopySupervisor::PollReady(SupervisorTime now) {
  if (ReapIfExited(now)) return;
  if (now < next_health_check_) return;
  next_health_check_ = now + options_.health_interval;
  if (Healthy()) {
    failed_health_checks_ = 0;
    return;
  }
  if (++failed_health_checks_ < options_.unhealthy_threshold) return;
  Kill();
  std::string message = "/healthz failed " + std::to_string(failed_health_checks_) +
                        " times in a row; killed the runner";
  Emit(now, "unhealthy", message);
  HandleCrash(now, message);
}

void CopySupervisor::PollDraining(SupervisorTime now) {
  if (auto status = process_ ? process_->TryWait() : std::optional<int>(0)) {
    // Whether it exited because we asked or on its own, a draining copy is not restarted.
    std::string message = terminate_sent_at_ ? "drained; runner exited with status " +
                                                   std::to_string(*status)
                                             : "runner ended while draining: " + DescribeExit(*status);
    process_.reset();
    SetState(CopyState::kStopped);
    Emit(now, "stopped", message);
    return;
  }
  if (terminate_sent_at_) {
    if (now - *terminate_sent_at_ < options_.stop_grace) return;
    Kill();
    SetState(CopyState::kStopped);
    Emit(now, "stopped", "drained; runner ignored SIGTERM for " +
                             std::to_string(options_.stop_grace.count()) + " ms; killed it");
    return;
  }
  if (now >= drain_deadline_) {
    Kill();
    SetState(CopyState::kStopped);
    Emit(now, "drain_deadline",
         "still busy " + std::to_string(options_.drain_timeout.count()) +
             " ms after the drain began; killed the runner with requests in flight");
    return;
  }
  std::optional<bool> idle = router_in_flight_ > 0 ? std::optional<bool>(false) : RunnerIdle();
  if (!idle || !*idle) {
    idle_since_.reset();
    return;
  }
  if (!idle_since_) idle_since_ = now;
  if (now - *idle_since_ < options_.drain_quiet) return;
  process_->Signal(SIGTERM);
  terminate_sent_at_ = now;
  Emit(now, "stopping", "runner idle; sent SIGTERM");
}

void CopySupervisor::Drain(SupervisorTime now) {
  switch (state_) {
    case CopyState::kReady:
      SetState(CopyState::kDraining);
      drain_deadline_ = now + options_.drain_timeout;
      idle_since_.reset();
      terminate_sent_at_.reset();
      Emit(now, "draining", "no new requests; stopping once in-flight ones finish");
      return;
    case CopyState::kPending:
    case CopyState::kLoading:
      // Not ready yet, so nothing was routed to it: nothing to wait for.
      Stop(now);
      return;
    case CopyState::kDraining:
    case CopyState::kStopped:
    case CopyState::kFailed: return;
  }
}

void CopySupervisor::Stop(SupervisorTime now) {
  if (IsFinal(state_)) return;
  std::string message = "stopped";
  if (process_) {
    process_->Signal(SIGTERM);
    std::optional<int> status = process_->WaitFor(options_.stop_grace);
    if (status) {
      message = "stopped; runner exited with status " + std::to_string(*status);
    } else {
      Kill();
      message = "stopped; runner ignored SIGTERM for " +
                std::to_string(options_.stop_grace.count()) + " ms; killed it";
    }
    process_.reset();
  }
  SetState(CopyState::kStopped);
  Emit(now, "stopped", message);
}

bool CopySupervisor::ReapIfExited(SupervisorTime now) {
  std::optional<int> status = process_->TryWait();
  if (!status) return false;
  std::string message = DescribeExit(*status);
  process_.reset();
  Emit(now, "exited", message);
  HandleCrash(now, message);
  return true;
}

void CopySupervisor::HandleCrash(SupervisorTime now, const std::string& message) {
  process_.reset();
  last_error_ = message;
  crashes_.push_back(now);
  policy::PruneCrashHistory(&crashes_, now, options_.restart);
  policy::RestartDecision d = policy::DecideRestart(crashes_, now, options_.restart);
  if (d.action == policy::RestartAction::kGiveUp) {
    SetState(CopyState::kFailed);
    Emit(now, "failed", d.reason + "; last: " + message);
    return;
  }
  if (state_ != CopyState::kPending) SetState(CopyState::kPending);
  restart_at_ = d.restart_at;
  Emit(now, "restart_scheduled", d.reason);
  if (d.action == policy::RestartAction::kRestartNow) Spawn(now, "restarting");
}

void CopySupervisor::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  // SIGKILL cannot be ignored; the wait only covers the kernel tearing the process down.
  process_->WaitFor(std::chrono::seconds(5));
  process_.reset();
}

bool CopySupervisor::Healthy() {
  auto r = client_.Send("GET", "/healthz");
  if (r.ok() && r->status == 200) return true;
  client_.Close();
  return false;
}

std::optional<bool> CopySupervisor::RunnerIdle() {
  auto r = client_.Send("GET", "/stats");
  if (!r.ok() || r->status != 200) {
    client_.Close();
    return std::nullopt;
  }
  nlohmann::json stats = nlohmann::json::parse(r->body, nullptr, false);
  if (!stats.is_object() || !stats.contains("slots_busy") || !stats.contains("queue_length")) {
    return std::nullopt;
  }
  return stats["slots_busy"] == 0 && stats["queue_length"] == 0;
}

std::string CopySupervisor::DescribeExit(int status) const {
  std::string how = status > 128 ? "killed by signal " + std::to_string(status - 128)
                                 : "exited with status " + std::to_string(status);
  std::optional<std::string> error = LastErrorInLog(ReadFrom(launch_.log_path, log_offset_));
  return error ? how + ": " + *error : how;
}

void CopySupervisor::SetState(CopyState next) {
  assert(IsAllowedTransition(state_, next));
  state_ = next;
}

void CopySupervisor::Emit(SupervisorTime now, std::string reason, std::string message) {
  if (!sink_) return;
  sink_(CopyEvent{now, id_, std::move(reason), std::move(message), state_});
}

}  // namespace cohost::agent
