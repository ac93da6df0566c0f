#include "cli/serve_command.h"

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "agent/standby_pool.h"
#include "agent/mps.h"
#include "control/autoscaler.h"
#include "control/control_api.h"
#include "control/node_controller.h"
#include "core/inventory.h"
#include "core/log.h"
#include "core/metric_names.h"
#include "core/metrics.h"
#include "engine/device_discovery.h"
#include "engine/llama_runtime.h"
#include "engine/memory_estimate.h"
#include "engine/synthetic_model.h"
#include "router/router.h"
#include "store/sqlite_store.h"

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
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

StatusOr<DeviceInventory> LoadInventory(const ServeFlags& f) {
  DeviceInventory discovered = engine::DiscoveredInventory();
  if (f.inventory.empty()) {
    bool has_accelerator = false;
    for (const Device& d : discovered.devices) has_accelerator = has_accelerator || d.is_accelerator();
    if (has_accelerator) return discovered;
    // No GPU here: two virtual accelerators (computing on the CPU) so the demo can share devices.
    for (int i = 0; i < 2; ++i) {
      discovered.devices.push_back({"vgpu" + std::to_string(i), "virtual accelerator " + std::to_string(i),
                                    DeviceKind::kVirtual, 8192, "vlink0"});
    }
    return discovered;
  }
  std::ifstream in(f.inventory);
  if (!in) return NotFound("cannot read inventory file " + f.inventory);
  std::stringstream ss;
  ss << in.rdbuf();
  ASSIGN_OR_RETURN(DeviceInventory inv, ParseInventoryJson(ss.str()));
  if (inv.cpu_cores <= 0) inv.cpu_cores = discovered.cpu_cores;
  return inv;
}

StatusOr<int64_t> MeasureMemoryMib(const InferenceComponent& c) {
  std::string path = c.model_uri.rfind("file://", 0) == 0 ? c.model_uri.substr(7) : c.model_uri;
  engine::SchedulerOptions o;
  o.context = c.startup.context_length;
  o.parallel = c.startup.parallel;
  o.batch = std::max(o.batch, o.parallel);
  o.threads = 1;
  ASSIGN_OR_RETURN(engine::MemoryEstimate m, engine::EstimateMemory({path, -1, true}, o));
  return m.total.total_mib();
}

// Generates the demo models once and declares one endpoint with three components.
Status SeedDemo(store::StateStore& store, const std::string& data_dir) {
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
    ASSIGN_OR_RETURN(c.compute.memory_mib, MeasureMemoryMib(c));
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

int Run(const ServeFlags& f) {
  log::SetComponent("serve");
  engine::InitLlamaRuntime(false);
  std::filesystem::create_directories(f.data_dir);
  auto store = store::SqliteStore::Open(f.data_dir + "/state.db");
  if (!store.ok()) {
    log::Error("cannot open the state store", {{"error", store.status().ToString()}});
    return 1;
  }
  auto inventory = LoadInventory(f);
  if (!inventory.ok()) {
    log::Error("bad inventory", {{"error", inventory.status().ToString()}});
    return 1;
  }
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
    Status st = SeedDemo(**store, f.data_dir);
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
  control::Autoscaler autoscaler(metrics);
  std::atomic<control::NodeController*> controller{nullptr};
  control::ControlHooks hooks;
  hooks.now_ms = NowMs;
  hooks.measure_memory_mib = MeasureMemoryMib;
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
  control::ControlApi api(**store, hooks);
  control::NodeControllerOptions nco;
  nco.cohost_binary = SelfPath();
  nco.runtime_dir = f.data_dir + "/run";
  nco.threads_per_copy = f.threads_per_copy;
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
  // Standby runners: started ahead of need, with the runtime and devices up (runner/standby.h).
  bool has_gpu = false;
  for (const Device& d : inventory->devices) has_gpu = has_gpu || d.kind == DeviceKind::kCuda;
  std::unique_ptr<agent::StandbyPool> standby;
  if (f.standby_runners == "on" || (f.standby_runners == "auto" && has_gpu)) {
    standby = std::make_unique<agent::StandbyPool>(
        agent::StandbyPoolOptions{SelfPath(), f.data_dir + "/run/standby", false});
    nco.supervisor.standby = standby.get();
  }
  nco.mps = *mps;
  control::NodeController node(**store, api, *inventory, directory, nco);
  if (standby) {
    // One standby per GPU now (and one for virtual devices), so even the first copy finds one.
    // Runners on other environments (a compute share, several devices) get theirs on first use.
    bool has_virtual = false;
    for (const Device& d : inventory->devices) {
      has_virtual = has_virtual || d.kind == DeviceKind::kVirtual;
      if (d.kind != DeviceKind::kCuda) continue;
      agent::RunnerLaunch pinned;
      pinned.cuda_devices = std::vector<int>{d.cuda_index};
      (void)standby->Want(agent::RunnerEnvironment(pinned));
    }
    if (has_virtual) {
      // As the controller pins a copy on a virtual device: hidden from every GPU when the node
      // has some, left alone when it has none.
      agent::RunnerLaunch none;
      if (has_gpu) none.cuda_devices = std::vector<int>{};
      (void)standby->Want(agent::RunnerEnvironment(none));
    }
  }
  controller = &node;

  net::ServerOptions so;
  so.host = f.host;
  so.port = f.port;
  so.threads = f.http_threads;
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
    std::unique_lock<std::mutex> l(mu);
    while (!stopping) {
      l.unlock();
      node.Tick(std::chrono::steady_clock::now());
      l.lock();
      // A tick period, or sooner when kicked (a kick during the tick is not lost).
      wake.wait_for(l, std::chrono::milliseconds(250), [&] { return stopping || kicked; });
      kicked = false;
    }
  });
  net::asio::signal_set signals((*server)->io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) (*server)->Stop();
  });
  log::Info("listening", {{"address", (*server)->address()}, {"port", (*server)->port()},
                          {"data_dir", f.data_dir}});
  (*server)->Run();
  {
    std::lock_guard<std::mutex> l(mu);
    stopping = true;
  }
  wake.notify_all();
  reconciler.join();
  controller = nullptr;
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
  cmd->callback([f] { throw CLI::RuntimeError(Run(*f)); });
}

}  // namespace cohost::cli
