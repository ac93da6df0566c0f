#include "agent/overhead_probe.h"

#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/engine_child.h"
#include "agent/runner_command.h"
#include "core/log.h"
#include "net/http_client.h"
#include "sys/process.h"

namespace cohost::agent {
namespace {

using Clock = std::chrono::steady_clock;

// The probe runner's shape: small enough that its buffers are a few MiB, all of them touched.
constexpr int kProbeContext = 64;
constexpr int kProbeBatch = 32;

std::string Mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// What the probe runner is started with, pinned to `device` as a copy placed there would be.
RunnerLaunch ProbeLaunch(const Device& device, const ProbeOptions& o) {
  RunnerLaunch l;
  l.cohost_binary = o.cohost_binary;
  l.model_path = o.model_path;
  const std::string name = "overhead-probe-" + device.id;
  l.socket_path = o.runtime_dir + "/" + name + ".sock";
  l.log_path = o.runtime_dir + "/" + name + ".log";
  l.alias = "probe";
  l.context = kProbeContext;
  l.parallel = 1;
  l.threads = 1;
  l.load_mode = "read";  // weights in the runner's own (resident) memory, not a lazy mapping
  if (device.kind == DeviceKind::kCuda) {
    l.cuda_devices = std::vector<int>{device.cuda_index};
  } else {
    l.gpu_layers = 0;
    if (o.node_has_cuda) l.cuda_devices = std::vector<int>{};
  }
  return l;
}

// A running probe runner, stopped (SIGTERM, then SIGKILL) when this goes out of scope.
class ProbeRunner {
 public:
  explicit ProbeRunner(sys::Process p) : process_(std::move(p)) {}
  ~ProbeRunner() {
    process_.Signal(SIGTERM);
    if (!process_.WaitFor(std::chrono::seconds(10))) process_.Signal(SIGKILL);
  }
  sys::Process& process() { return process_; }

 private:
  sys::Process process_;
};

// Waits for /healthz, then sends one short completion. Errors: kUnavailable, kCancelled.
Status WarmUp(ProbeRunner& runner, const RunnerLaunch& launch, const ProbeOptions& o,
              Clock::time_point deadline) {
  net::Address address;
  address.unix_socket = launch.socket_path;
  net::HttpClient client(address, std::chrono::seconds(30));
  for (;;) {
    if (o.stop && o.stop()) return Status(StatusCode::kCancelled, "the overhead probe was stopped");
    if (auto st = runner.process().TryWait()) {
      return Unavailable("the probe runner exited with status " + std::to_string(*st) +
                         " (log: " + launch.log_path + ")");
    }
    auto r = client.Send("GET", "/healthz");
    if (r.ok() && r->status == 200) break;
    client.Close();
    if (Clock::now() >= deadline)
      return Unavailable("the probe runner did not become healthy in time");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(50));  // a poll period, not a wait for a result
  }
  nlohmann::json body = {
      {"prompt", "probe"}, {"max_tokens", 4}, {"temperature", 0}, {"ignore_eos", true}};
  auto r = client.Send("POST", "/v1/completions", body.dump());
  if (!r.ok() || r->status != 200) {
    return Unavailable(
        "the probe runner did not answer its completion: " +
        (r.ok() ? "status " + std::to_string(r->status) + " " + r->body : r.status().message()));
  }
  return Status::Ok();
}

}  // namespace

ProbeUse ChooseProbeUse(DeviceKind kind, std::optional<int64_t> process,
                        std::optional<int64_t> device_before, std::optional<int64_t> device_after) {
  ProbeUse use{process, kind == DeviceKind::kCuda ? "nvml_process" : "proc_vmrss"};
  // On a GPU the device loses a little more than NVML attributes to the process (driver
  // structures per context: 526 against 518 MiB on an H200), and NVML does not list a process of
  // another PID namespace at all. No copy runs while serve probes, so the rise of the device's
  // used memory is the probe's (a `cohost memory-need` child started by an API call at the same
  // moment would be counted too: the figure can then only be too high). The larger figure wins.
  if (kind == DeviceKind::kCuda && device_before && device_after) {
    const int64_t rise = *device_after - *device_before;
    if (!use.bytes || rise > *use.bytes) use = {rise, "nvml_device_delta"};
  }
  return use;
}

std::string DeviceTypeOf(const Device& device) {
  return device.kind == DeviceKind::kCuda ? "cuda:" + device.name : "host";
}

StatusOr<OverheadMeasurement> ProbeProcessOverhead(const Device& device,
                                                   const ProcessMemoryReader& reader,
                                                   const ProbeOptions& o) {
  const Clock::time_point deadline = Clock::now() + o.timeout;
  const RunnerLaunch launch = ProbeLaunch(device, o);
  MemoryNeedQuery q{o.model_path,      kProbeContext,      1, kProbeBatch, kProbeBatch,
                    launch.gpu_layers, launch.cuda_devices};
  ASSIGN_OR_RETURN(MemoryNeed need, MeasureMemoryNeedInChild(o.cohost_binary, q, o.timeout));
  const int64_t buffers =
      device.kind == DeviceKind::kCuda ? need.accelerator_bytes() : need.total_bytes;

  ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildRunnerArgv(launch));
  argv.insert(argv.end(),
              {"--batch", std::to_string(kProbeBatch), "--ubatch", std::to_string(kProbeBatch)});
  std::filesystem::create_directories(o.runtime_dir);
  std::filesystem::remove(launch.socket_path);
  const std::optional<int64_t> device_before = reader.DeviceUsedBytes(device);
  auto spawned = sys::Process::Spawn({argv, launch.log_path, RunnerEnvironment(launch)});
  if (!spawned.ok())
    return Unavailable("cannot start the probe runner: " + spawned.status().message());
  ProbeRunner runner(std::move(*spawned));
  RETURN_IF_ERROR(WarmUp(runner, launch, o, deadline));

  OverheadMeasurement m;
  m.buffers_bytes = buffers;
  std::optional<int64_t> process = reader.ProcessUsedBytes(runner.process().pid(), device);
  std::optional<int64_t> device_after =
      device.kind == DeviceKind::kCuda ? reader.DeviceUsedBytes(device) : std::nullopt;
  ProbeUse use = ChooseProbeUse(device.kind, process, device_before, device_after);
  if (!use.bytes) return Unavailable("cannot read what the probe runner holds on " + device.id);
  m.method = use.method;
  m.used_bytes = *use.bytes;
  const int64_t over = std::max<int64_t>(0, m.used_bytes - buffers);
  m.overhead_mib = (over + (int64_t{1} << 20) - 1) >> 20;
  return m;
}

std::map<std::string, DeviceOverhead> ResolveProcessOverheads(const DeviceInventory& inventory,
                                                              const ProcessMemoryReader& reader,
                                                              const OverheadOptions& o) {
  std::map<std::string, DeviceOverhead> out;
  if (o.configured_mib) {
    for (const Device& d : inventory.devices) {
      out[d.id] = {*o.configured_mib, "configured", "set with --process-overhead-mib"};
    }
    return out;
  }
  OverheadCache cache = OverheadCache::Load(o.cache_path);
  std::map<std::string, DeviceOverhead> by_type;
  bool changed = false;
  for (const Device& d : inventory.devices) {
    const std::string type = DeviceTypeOf(d);
    auto known = by_type.find(type);
    if (known == by_type.end()) {
      OverheadCacheKey key{type, d.kind == DeviceKind::kCuda ? o.driver_version : "",
                           o.cohost_build, kOverheadProbeVersion};
      DeviceOverhead result;
      std::optional<OverheadMeasurement> m = o.cache_path.empty() ? std::nullopt : cache.Find(key);
      result.source = m ? "cached" : "measured";
      if (!m) {
        log::Info("measuring the per-process overhead", {{"device", d.id}, {"type", type}});
        auto probed = ProbeProcessOverhead(d, reader, o.probe);
        if (probed.ok()) {
          m = *probed;
          cache.Put(key, *m);
          changed = true;
        } else {
          result = {0, "unmeasured", "the probe failed: " + probed.status().message()};
          log::Warn("cannot measure the per-process overhead; counting none",
                    {{"device", d.id}, {"error", probed.status().ToString()}});
        }
      }
      if (m) {
        result.mib = m->overhead_mib;
        result.detail = "probe runner used " + Mib(m->used_bytes) + " (" + m->method +
                        "), its buffers " + Mib(m->buffers_bytes);
        log::Info("per-process overhead", {{"type", type},
                                           {"mib", m->overhead_mib},
                                           {"source", result.source},
                                           {"detail", result.detail}});
      }
      known = by_type.emplace(type, result).first;
    }
    out[d.id] = known->second;
  }
  if (changed && !o.cache_path.empty()) {
    Status st = cache.Save();
    if (!st.ok()) log::Warn("cannot cache the per-process overhead", {{"error", st.ToString()}});
  }
  return out;
}

}  // namespace cohost::agent
