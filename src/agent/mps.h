// NVIDIA MPS (Multi-Process Service): what turns a copy's `compute.accelerators` share of a CUDA
// device from bookkeeping into a limit.
//
// With an MPS control daemon running, every CUDA process on the node becomes an MPS client, and a
// client's environment sets its limits: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (the share of each
// device's SMs its kernels may use) and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT (device memory it may
// allocate). `cohost serve --mps auto|on|off` decides once, at start (ResolveMps), whether the
// daemon is there; the node controller then gives each copy on CUDA devices its limits
// (agent/device_pinning.h) and /v1/devices says per device whether shares are enforced
// (DeviceShareEnforcement). Copies on virtual devices or the host never get MPS limits.
//
// The daemon is reached through the MpsControl interface, so tests fake one (FakeMpsControl in
// mps_test.cc); NvidiaMpsControl is the real one.
// Thread safety: ResolveMps and DeviceShareEnforcement are pure; an MpsControl is used from one
// thread (serve's main thread).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/device.h"
#include "core/status.h"

namespace cohost::agent {

enum class MpsMode {
  kAuto,  // use a control daemon if one is running; never start one
  kOn,    // use one, starting it if absent; fail when that is impossible
  kOff,   // never use one (shares stay bookkeeping even if a daemon runs)
};

// "auto", "on", "off"; InvalidArgument naming "--mps" otherwise.
StatusOr<MpsMode> ParseMpsMode(std::string_view text);
const char* MpsModeName(MpsMode mode);

// What a look at the node found.
struct MpsProbe {
  bool running = false;
  std::string detail;  // for logs: "control daemon pid 812, pipe directory /tmp/nvidia-mps"
};

// The node's MPS control daemon.
class MpsControl {
 public:
  virtual ~MpsControl() = default;
  // Whether a control daemon is running now. Never fails: what cannot be seen counts as absent.
  virtual MpsProbe Probe() = 0;
  // Starts a control daemon and returns once it runs. Errors: kFailedPrecondition saying why
  // (the control program is not installed, it exited with an error, it did not come up in time).
  virtual Status Start() = 0;
  // Stops a daemon this object started (no-op otherwise). Best effort.
  virtual void StopIfStarted() = 0;
};

// Whether compute shares on this node's CUDA devices are enforced, and why.
struct MpsDecision {
  bool enforced = false;
  // "nvidia mps" when enforced; otherwise "no mps daemon", "mps off (--mps off)" or
  // "no cuda device".
  std::string reason = "no mps daemon";
  std::string detail;  // what the probe found, for the log
};

// Decides at serve's start. kOff: not enforced. No CUDA device: not enforced (kOn is an error).
// kAuto: enforced when control.Probe() finds a daemon. kOn: enforced, starting a daemon if none
// runs. Errors (only for kOn): kFailedPrecondition "--mps on: ..." naming why it is impossible.
StatusOr<MpsDecision> ResolveMps(MpsMode mode, bool node_has_cuda, MpsControl& control);

// Whether a copy's compute share of `device` is enforced, and why ("nvidia mps",
// "no mps daemon", "virtual device", "host device"). Pure.
struct ShareEnforcement {
  bool enforced = false;
  std::string reason;
};
ShareEnforcement DeviceShareEnforcement(const Device& device, const MpsDecision& mps);

// The MPS active thread percentage of a share of a device in thousandths: share × 100 rounded up,
// in 1..100.
int ActiveThreadPercentage(int64_t share_milli);

// MiB of device memory an MPS client's own CUDA context takes out of its pinned-memory limit, for
// a client at `active_thread_percentage`: 64 + 6 × percentage. The context's per-SM memory is
// charged to the limit, so a limit of exactly the copy's reservation (its llama.cpp buffers) would
// refuse part of them. Measured on an H200 (132 SMs, driver 580, CUDA 13): the context took 72,
// 145, 271, 388 and 513 MiB at 10, 25, 50, 75 and 100%; the formula leaves 50-150 MiB over that for
// cuBLAS's workspace and the like.
int64_t MpsContextHeadroomMib(int active_thread_percentage);

// The real control daemon: nvidia-cuda-mps-control and its pipe directory.
struct NvidiaMpsOptions {
  // CUDA_MPS_PIPE_DIRECTORY (main() passes the variable when set).
  std::string pipe_directory = "/tmp/nvidia-mps";
  // The control program; a name without '/' is looked up in `search_path`.
  std::string control_program = "nvidia-cuda-mps-control";
  // PATH as main() found it; empty: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".
  std::string search_path;
  // The control program's output when starting and stopping the daemon goes here; empty: none.
  std::string log_path;
  // How long Start() waits for the daemon to answer.
  std::chrono::milliseconds start_timeout{10000};
};

// A daemon runs when the pipe directory holds its `control` socket (or pipe) and the pid in
// nvidia-cuda-mps-control.pid is alive; without that file, the socket must accept a connection
// (a stale one refuses). Start() runs
// `nvidia-cuda-mps-control -d` (root is needed) and waits for that; StopIfStarted() sends `quit`.
// Destroying it stops a daemon it started (a daemon that was running before is left alone).
class NvidiaMpsControl : public MpsControl {
 public:
  explicit NvidiaMpsControl(NvidiaMpsOptions options) : options_(std::move(options)) {}
  ~NvidiaMpsControl() override { StopIfStarted(); }
  NvidiaMpsControl(const NvidiaMpsControl&) = delete;
  NvidiaMpsControl& operator=(const NvidiaMpsControl&) = delete;
  MpsProbe Probe() override;
  Status Start() override;
  void StopIfStarted() override;

 private:
  // The control program's path, or empty when it is not installed.
  std::string FindProgram() const;

  const NvidiaMpsOptions options_;
  bool started_ = false;
};

}  // namespace cohost::agent
