#include "cli/serve_command.h"

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "agent/device_pinning.h"
#include "agent/mps.h"
#include "agent/overhead_probe.h"
#include "agent/process_memory.h"
#include "agent/standby_pool.h"
#include "cli/http_flags.h"
#include "cli/serve_setup.h"
#include "control/autoscaler.h"
#include "control/control_api.h"
#include "control/event_log.h"
#include "control/node_controller.h"
#include "core/log.h"
#include "core/metric_names.h"
#include "core/metrics.h"
#include "engine/synthetic_model.h"
#include "net/descriptor_limit.h"
#include "router/router.h"
#include "store/sqlite_store.h"
#include "sys/file_lock.h"

namespace cohost::cli {
namespace {

using json = nlohmann::json;

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir = ".cohost";
  std::string inventory;
  int http_threads = 2;
  int threads_per_copy = 1;
  bool no_demo = false;
  std::string standby_runners = "auto";
  std::string mps = "auto";
  int64_t process_overhead_mib = -1;  // -1: measure it
  net::HttpLimits http;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

// Generates the demo models once and declares one endpoint with three components.
Status SeedDemo(store::StateStore& store, const std::string& data_dir, const std::string& self) {
  ASSIGN_OR_RETURN(store::ObjectList endpoints, store.List(store::ObjectKind::kEndpoint));
  if (!endpoints.objects.empty()) return Status::Ok();
  std::filesystem::create_directories(data_dir + "/models");
  struct Demo { const char* name; const char* params; double accel; int copies; int parallel; };
  const Demo demos[] = {{"tiny-chat", "20M", 0.25, 2, 4}, {"small-chat", "60M", 0.5, 1, 4},
                        {"medium-chat", "100M", 0.5, 1, 2}};
  RETURN_IF_ERROR(store.Create(store::ObjectKind::kEndpoint, "main", ToJson(Endpoint{"main"})).status());
  for (const Demo& d : demos) {
    std::string path = data_dir + "/models/" + d.name + ".gguf";
    if (!std::filesystem::exists(path)) {
      engine::SyntheticModelOptions o;
      o.vocab_path = engine::DefaultVocabPath();
      ASSIGN_OR_RETURN(int64_t params, engine::ParseParamCount(d.params));
      o.shape = engine::ShapeForParams(params, 32000);
      log::Info("generating demo model", {{"path", path}, {"params", d.params}});
      RETURN_IF_ERROR(engine::WriteSyntheticModel(o, path));
    }
    json spec = {{"name", d.name}, {"endpoint", "main"}, {"model", {{"uri", path}}},
                 {"compute", {{"accelerators", d.accel}, {"cpu_cores", 0.25}}},
                 {"startup", {{"context_length", 1024}, {"parallel", d.parallel}}},
                 {"copies", {{"initial", d.copies}, {"min", 0}, {"max", 4}}}};
    ASSIGN_OR_RETURN(InferenceComponent c, ParseInferenceComponent(spec));
    ASSIGN_OR_RETURN(c.compute.memory_mib, MeasureMemoryMib(self, c));
    RETURN_IF_ERROR(store.Create(store::ObjectKind::kInferenceComponent, c.name, ToJson(c)).status());
  }
  return Status::Ok();
}

// Whether NVIDIA MPS enforces compute shares on the CUDA devices (--mps; agent/mps.h).
StatusOr<agent::MpsDecision> ResolveMps(const ServeFlags& f, const DeviceInventory& inventory,
                                        agent::NvidiaMpsControl& control) {
  ASSIGN_OR_RETURN(agent::MpsMode mode, agent::ParseMpsMode(f.mps));
  bool has_cuda = false;
  for (const Device& d : inventory.devices) has_cuda = has_cuda || d.kind == DeviceKind::kCuda;
  return agent::ResolveMps(mode, has_cuda, control);
}

agent::NvidiaMpsOptions MpsOptions(const ServeFlags& f) {
  agent::NvidiaMpsOptions o;
  if (const char* dir = std::getenv("CUDA_MPS_PIPE_DIRECTORY"); dir != nullptr && *dir) o.pipe_directory = dir;
  if (const char* path = std::getenv("PATH")) o.search_path = path;
  o.log_path = f.data_dir + "/mps-control.log";
  return o;
}

std::string SelfPath() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "cohost" : p.string();
}

// The per-process overhead of every device: configured, cached, or probed now.
std::map<std::string, agent::DeviceOverhead> ResolveOverheads(const ServeFlags& f, const ServeDevices& devices,
                                                              const agent::ProcessMemoryReader& reader,
                                                              const std::string& self, std::function<bool()> stop) {
  agent::OverheadOptions o;
  if (f.process_overhead_mib >= 0) o.configured_mib = f.process_overhead_mib;
  o.cache_path = f.data_dir + "/process_overhead.json";
  o.driver_version = devices.driver_version;
  o.cohost_build = BuildStamp(self);
  o.probe.cohost_binary = self;
  o.probe.runtime_dir = f.data_dir + "/run";
  o.probe.stop = std::move(stop);
  for (const Device& d : devices.inventory.devices) o.probe.node_has_cuda = o.probe.node_has_cuda || d.kind == DeviceKind::kCuda;
  if (!o.configured_mib) {
    auto model = EnsureProbeModel(f.data_dir);
    if (!model.ok()) {
      log::Warn("cannot write the overhead probe's model; counting no per-process overhead",
                {{"error", model.status().ToString()}});
      o.configured_mib = 0;
    } else {
      o.probe.model_path = *model;
    }
  }
  return agent::ResolveProcessOverheads(devices.inventory, reader, o);
}

// The inventory with each device's overhead (capped at its memory: such a device holds no copy).
// A standby holds what one runner process holds before its model (a GPU context): one per-process
// overhead on each device that keeps one, which copies then cannot reserve.
void SetAsideForStandbys(DeviceInventory& inv) {
  for (Device& d : inv.devices) {
    if (!d.is_accelerator() || d.process_overhead_mib <= 0) continue;
    d.memory_mib = std::max<int64_t>(0, d.memory_mib - d.process_overhead_mib);
    log::Info("device memory set aside for a standby runner", {{"id", d.id}, {"mib", d.process_overhead_mib}});
  }
}

// One standby per GPU, and one for the virtual devices, in the environment the controller gives a
// copy placed there (agent::PinToDevices), so that even the first copy finds one.
void StartStandbys(agent::StandbyPool& pool, const DeviceInventory& inv) {
  bool has_virtual = false;
  for (const Device& d : inv.devices) {
    has_virtual = has_virtual || d.kind == DeviceKind::kVirtual;
    if (d.kind != DeviceKind::kCuda) continue;
    agent::RunnerLaunch launch;
    agent::PinToDevices(policy::Assignment{{{d.id, 0, 0}}}, inv, false, launch);
    (void)pool.Want(agent::RunnerEnvironment(launch));
  }
  for (const Device& d : inv.devices) {
    if (d.kind != DeviceKind::kVirtual) continue;
    agent::RunnerLaunch launch;
    agent::PinToDevices(policy::Assignment{{{d.id, 0, 0}}}, inv, false, launch);
    (void)pool.Want(agent::RunnerEnvironment(launch));
    break;  // every virtual device's runners share one environment
  }
}

DeviceInventory WithOverheads(DeviceInventory inv, const std::map<std::string, agent::DeviceOverhead>& overheads) {
  for (Device& d : inv.devices) {
    auto it = overheads.find(d.id);
    if (it != overheads.end()) d.process_overhead_mib = std::min(it->second.mib, d.memory_mib);
  }
  return inv;
}

int Run(const ServeFlags& f) {
  log::SetComponent("serve");
  net::RaiseDescriptorLimit();
  // No llama.cpp runtime here: with a CUDA build, initialising it would create a CUDA context
  // (~500 MiB of device memory) that serve would hold outside every reservation. Engine work runs
  // in short-lived children (agent/engine_child.h).
  const std::string self = SelfPath();
  std::filesystem::create_directories(f.data_dir);
  // One server per data dir: a second one would reconcile the same state.db and start a second
  // set of runners for every copy. Held until this process ends.
  auto lock = sys::FileLock::Acquire(f.data_dir + "/serve.lock");
  if (!lock.ok()) {
    log::Error("data dir " + f.data_dir + " is in use by another cohost serve; stop that one or use another --data-dir",
               {{"data_dir", f.data_dir}, {"error", lock.status().message()}});
    return 1;
  }
  auto store = store::SqliteStore::Open(f.data_dir + "/state.db");
  if (!store.ok()) {
    log::Error("cannot open the state store", {{"error", store.status().ToString()}});
    return 1;
  }
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  auto devices = LoadServeDevices(f.inventory, self,
                                  visible ? std::optional<std::string>(visible) : std::nullopt);
  if (!devices.ok()) {
    log::Error("bad inventory", {{"error", devices.status().ToString()}});
    return 1;
  }
  const DeviceInventory* inventory = &devices->inventory;
  for (const Device& d : inventory->devices) {
    log::Info("device", {{"id", d.id}, {"kind", DeviceKindName(d.kind)}, {"virtual", d.is_virtual() ? "yes" : "no"},
                         {"memory_mib", d.memory_mib}});
  }
  // Declared before the node controller, so that a daemon started here outlives the copies.
  agent::NvidiaMpsControl mps_control(MpsOptions(f));
  auto mps = ResolveMps(f, *inventory, mps_control);
  if (!mps.ok()) {
    log::Error("cannot use NVIDIA MPS", {{"error", mps.status().message()}});
    return 1;
  }
  log::Info("compute shares", {{"enforced", mps->enforced ? "yes" : "no"}, {"reason", mps->reason},
                               {"mps", f.mps}, {"detail", mps->detail}});
  if (!f.no_demo) {
    Status st = SeedDemo(**store, f.data_dir, self);
    if (!st.ok()) log::Warn("demo not created", {{"error", st.ToString()}});
  }

  // One registry: the router and the node controller write it, the autoscaler reads it, and
  // GET /metrics prints it.
  MetricsRegistry metrics;
  metric::DeclareAll(metrics);
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  bool kicked = false;  // a held request or a state change asks for a tick now
  auto directory = std::make_shared<router::StaticCopyDirectory>();
  router::RouterOptions ro;
  ro.metrics = &metrics;
  auto kick = [&] {
    {
      std::lock_guard<std::mutex> g(mu);
      kicked = true;
    }
    wake.notify_all();
  };
  ro.on_hold = [&](const std::string&) { kick(); };  // scale from zero at once
  router::Router router(directory, ro);
  // Copy, scaling and API events, kept in memory while the store refuses them (a full disk).
  control::EventLog events(**store, {.metrics = &metrics});
  control::Autoscaler autoscaler(metrics);
  std::atomic<control::NodeController*> controller{nullptr};
  control::ControlHooks hooks;
  hooks.now_ms = NowMs;
  hooks.measure_memory_mib = [&self](const InferenceComponent& c) { return MeasureMemoryMib(self, c); };
  hooks.component_status = [&](const std::string& name) {
    auto* c = controller.load();
    return c ? c->ComponentStatus(name) : json::object();
  };
  hooks.devices = [&] {
    auto* c = controller.load();
    return c ? c->Devices() : json{{"devices", json::array()}};
  };
  hooks.on_change = [&] { kick(); };
  hooks.on_copies_set = [&](const std::string& name, int copies) { autoscaler.UserSetCopies(name, copies); };
  // A deleted component stops taking requests at once (held ones get 404); the reconciler then
  // drains its copies and drops its series.
  hooks.on_component_deleted = [&](const std::string& name) { directory->Remove(name); };
  hooks.append_event = [&](store::Event e) { events.Append(std::move(e)); };
  hooks.pending_events = [&](const store::EventQuery& q) { return events.Pending(q); };
  control::ControlApi api(**store, hooks);
  control::NodeControllerOptions nco;
  nco.cohost_binary = self;
  nco.runtime_dir = f.data_dir + "/run";
  nco.threads_per_copy = f.threads_per_copy;
  nco.events = &events;
  nco.autoscaler = &autoscaler;
  nco.metrics = &metrics;
  nco.copy_in_flight = [&] {
    std::map<std::string, int64_t> out;
    for (const router::CopyCounters& c : router.Counters()) out[c.id] = c.outstanding;
    return out;
  };
  nco.copy_requests = [&] {
    std::map<std::string, int64_t> out;
    for (const router::CopyCounters& c : router.Counters()) out[c.id] = c.requests;
    return out;
  };
  nco.on_copies_changed = [&] { router.CloseIdleConnections(); };
  nco.mps = *mps;
  // What copies' processes really hold: NVML on CUDA devices, /proc on the rest.
  agent::NodeMemoryReader reader(std::make_unique<agent::ProcStatusReader>(),
                                 devices->nvml ? std::make_unique<agent::NvmlMemoryReader>(devices->nvml) : nullptr);
  nco.memory_reader = &reader;
  bool has_gpu = false;
  for (const Device& d : inventory->devices) has_gpu = has_gpu || d.kind == DeviceKind::kCuda;
  const bool use_standby = f.standby_runners == "on" || (f.standby_runners == "auto" && has_gpu);

  net::ServerOptions so;
  so.host = f.host;
  so.port = f.port;
  so.threads = f.http_threads;
  so.limits = f.http;
  auto server = net::HttpServer::Create(so, [&](net::Exchange& ex) -> net::asio::awaitable<void> {
    if (ex.request().target() == "/metrics" && ex.request().method() == net::http::verb::get) {
      co_return co_await ex.Respond(net::http::status::ok, metrics.Exposition(),
                                    "text/plain; version=0.0.4; charset=utf-8");
    }
    if (control::ControlApi::Owns(ex.request().target())) co_return co_await api.Handle(ex);
    co_await router.Handle(ex);
  });
  if (!server.ok()) {
    log::Error("cannot listen", {{"error", server.status().message()}});
    return 1;
  }
  std::thread reconciler([&] {
    // Before any copy is placed: each device type's per-process overhead (a probe runner, or the
    // cached figure), which every copy then reserves on top of its own need.
    auto stop = [&] {
      std::lock_guard<std::mutex> g(mu);
      return stopping;
    };
    nco.overheads = ResolveOverheads(f, *devices, reader, self, stop);
    DeviceInventory placed = WithOverheads(*inventory, nco.overheads);
    // Standby runners (runner/standby.h), owned by this thread like the supervisors that use
    // them; started after the probes so that no probe counts a standby's context as its own.
    std::unique_ptr<agent::StandbyPool> standby;
    if (use_standby) {
      standby = std::make_unique<agent::StandbyPool>(agent::StandbyPoolOptions{self, f.data_dir + "/run/standby", false});
      nco.supervisor.standby = standby.get();
      SetAsideForStandbys(placed);
    }
    control::NodeController node(**store, api, placed, directory, nco);
    if (standby) StartStandbys(*standby, placed);
    controller = &node;
    std::unique_lock<std::mutex> l(mu);
    while (!stopping) {
      l.unlock();
      node.Tick(std::chrono::steady_clock::now());
      l.lock();
      // A tick period, or sooner when kicked (a kick during the tick is not lost).
      // While a copy loads, its readiness is checked every 10 ms: a cold request is waiting for
      // it, and each check is one /healthz on a Unix socket.
      const auto period = node.AnyCopyLoading() ? std::chrono::milliseconds(10) : std::chrono::milliseconds(250);
      wake.wait_for(l, period, [&] { return stopping || kicked; });
      kicked = false;
    }
    l.unlock();
    controller = nullptr;  // the HTTP server has stopped: no hook is running
  });
  net::asio::signal_set signals((*server)->io_context(), SIGINT, SIGTERM);
  // SIGTERM/SIGINT: drain (net::HttpServer::Shutdown), then the copies stop below; a second
  // signal stops at once.
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::Info("stopping", {{"signal", sig}});
        (*server)->Shutdown();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  log::Info("listening", {{"address", (*server)->address()}, {"port", (*server)->port()},
                          {"data_dir", f.data_dir}});
  (*server)->Run();
  {
    std::lock_guard<std::mutex> l(mu);
    stopping = true;
  }
  wake.notify_all();
  reconciler.join();
  log::Info("stopped");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve many models: control API, copies on devices, OpenAI router (all in one)");
  cmd->add_option("--host", f->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f->port, "TCP port (0 picks a free one, logged at start)")->capture_default_str();
  cmd->add_option("--data-dir", f->data_dir, "state (SQLite), demo models, runner sockets and logs")->capture_default_str();
  cmd->add_option("--inventory", f->inventory, "inventory file of virtual accelerators (default: discovered devices, or two virtual ones when no GPU)");
  cmd->add_option("--http-threads", f->http_threads, "HTTP I/O threads")->capture_default_str();
  cmd->add_option("--threads-per-copy", f->threads_per_copy, "compute threads of each runner (0: the copy's cpu_cores)")->capture_default_str();
  cmd->add_option("--standby-runners", f->standby_runners,
                  "keep a runner process ready per device, its runtime and device up, so a new copy "
                  "only loads its model: auto (on GPUs), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmd->add_flag("--no-demo", f->no_demo, "do not create the demo endpoint and components in an empty store");
  cmd->add_option("--mps", f->mps,
                  "NVIDIA MPS, which enforces copies' compute shares and memory on CUDA devices: auto (use a running "
                  "control daemon), on (start one if absent, fail if impossible), off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  cmd->add_option("--process-overhead-mib", f->process_overhead_mib,
                  "device memory every runner process takes besides its model's buffers, added to each copy's "
                  "reservation (-1: measure it per device type with a probe runner at start-up, cached in the data dir)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 30));
  AddHttpLimitFlags(cmd, f->http);
  cmd->callback([f] { throw CLI::RuntimeError(Run(*f)); });
}

}  // namespace cohost::cli
