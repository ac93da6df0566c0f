#include "agent/mps.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "sys/process.h"

namespace cohost::agent {
namespace {

constexpr char kDefaultSearchPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Status Impossible(const std::string& why) {
  return Status(StatusCode::kFailedPrecondition, "--mps on: " + why, "--mps");
}

enum class Endpoint { kNone, kSocket, kPipe };

// What `path` is: the daemon's control socket (or, in old versions, a named pipe), or nothing.
Endpoint ControlEndpoint(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Endpoint::kNone;
  if (S_ISSOCK(st.st_mode)) return Endpoint::kSocket;
  return S_ISFIFO(st.st_mode) ? Endpoint::kPipe : Endpoint::kNone;
}

// Whether something listens on the Unix socket `path` (a stale socket refuses connections).
bool Listening(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool Alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

std::string Tail(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > 2000) text = text.substr(text.size() - 2000);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

StatusOr<MpsMode> ParseMpsMode(std::string_view text) {
  if (text == "auto") return MpsMode::kAuto;
  if (text == "on") return MpsMode::kOn;
  if (text == "off") return MpsMode::kOff;
  return InvalidArgument("--mps", "'" + std::string(text) + "' is not one of auto, on, off");
}

const char* MpsModeName(MpsMode mode) {
  switch (mode) {
    case MpsMode::kAuto:
      return "auto";
    case MpsMode::kOn:
      return "on";
    case MpsMode::kOff:
      return "off";
  }
  return "auto";
}

StatusOr<MpsDecision> ResolveMps(MpsMode mode, bool node_has_cuda, MpsControl& control) {
  MpsDecision d;
  if (mode == MpsMode::kOff) {
    d.reason = "mps off (--mps off)";
    return d;
  }
  if (!node_has_cuda) {
    if (mode == MpsMode::kOn) return Impossible("this node has no CUDA device");
    d.reason = "no cuda device";
    return d;
  }
  MpsProbe probe = control.Probe();
  if (!probe.running && mode == MpsMode::kOn) {
    Status started = control.Start();
    if (!started.ok()) {
      return Impossible("no MPS control daemon runs (" + probe.detail +
                        ") and none could be started: " + started.message());
    }
    probe = control.Probe();
    if (!probe.running) {
      return Impossible("the MPS control daemon was started but is not running: " + probe.detail);
    }
  }
  d.enforced = probe.running;
  d.reason = probe.running ? "nvidia mps" : "no mps daemon";
  d.detail = probe.detail;
  return d;
}

ShareEnforcement DeviceShareEnforcement(const Device& device, const MpsDecision& mps) {
  switch (device.kind) {
    case DeviceKind::kVirtual:
      return {false, "virtual device"};
    case DeviceKind::kCpu:
      return {false, "host device"};
    case DeviceKind::kCuda:
      return {mps.enforced, mps.reason};
  }
  return {false, "unknown device kind"};
}

int ActiveThreadPercentage(int64_t share_milli) {
  const int64_t percent = (share_milli + 9) / 10;  // thousandths to hundredths, rounded up
  return static_cast<int>(std::clamp<int64_t>(percent, 1, 100));
}

int64_t MpsContextHeadroomMib(int active_thread_percentage) {
  return 64 + 6 * int64_t{std::clamp(active_thread_percentage, 1, 100)};
}

std::string NvidiaMpsControl::FindProgram() const {
  const std::string& name = options_.control_program;
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? name : std::string();
  std::stringstream dirs(options_.search_path.empty() ? kDefaultSearchPath : options_.search_path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

MpsProbe NvidiaMpsControl::Probe() {
  const std::string& dir = options_.pipe_directory;
  const std::string control = dir + "/control";
  const Endpoint endpoint = ControlEndpoint(control);
  if (endpoint == Endpoint::kNone) return {false, "no control socket in pipe directory " + dir};
  std::ifstream pid_file(dir + "/nvidia-cuda-mps-control.pid");
  long pid = 0;
  if (pid_file >> pid) {
    if (!Alive(static_cast<pid_t>(pid))) {
      return {false, "stale control socket in " + dir + ": daemon pid " + std::to_string(pid) +
                         " is not running"};
    }
    return {true, "control daemon pid " + std::to_string(pid) + ", pipe directory " + dir};
  }
  // No pid file: a socket must accept a connection; a named pipe cannot be checked.
  if (endpoint == Endpoint::kSocket && !Listening(control)) {
    return {false, "stale control socket in " + dir + ": nothing listens on it"};
  }
  return {true, "control socket in pipe directory " + dir};
}

Status NvidiaMpsControl::Start() {
  const std::string program = FindProgram();
  if (program.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  options_.control_program + " is not installed (not found on the PATH)");
  }
  auto p = sys::Process::Spawn(
      {{program, "-d"}, options_.log_path, {"CUDA_MPS_PIPE_DIRECTORY=" + options_.pipe_directory}});
  if (!p.ok()) return Status(StatusCode::kFailedPrecondition, p.status().message());
  // `-d` forks the daemon and returns; the daemon then creates its control socket.
  std::optional<int> status = p->WaitFor(options_.start_timeout);
  if (!status) return Status(StatusCode::kFailedPrecondition, program + " -d did not return");
  if (*status != 0) {
    std::string tail = Tail(options_.log_path);
    return Status(StatusCode::kFailedPrecondition, program + " -d exited with status " +
                                                       std::to_string(*status) +
                                                       (geteuid() != 0 ? " (it needs root)" : "") +
                                                       (tail.empty() ? "" : ": " + tail));
  }
  started_ = true;
  // Polled with a deadline: the daemon comes up in its own time, and nothing tells us when.
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (!Probe().running) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kFailedPrecondition,
                    "the daemon did not create its control socket in " + options_.pipe_directory +
                        " within " + std::to_string(options_.start_timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

void NvidiaMpsControl::StopIfStarted() {
  if (!started_) return;
  started_ = false;
  const std::string program = FindProgram();
  if (program.empty()) return;
  // The control program reads its commands from standard input.
  auto p = sys::Process::Spawn({{"/bin/sh", "-c", "echo quit | exec \"$0\"", program},
                                options_.log_path,
                                {"CUDA_MPS_PIPE_DIRECTORY=" + options_.pipe_directory}});
  if (p.ok()) p->WaitFor(options_.start_timeout);
}

}  // namespace cohost::agent
