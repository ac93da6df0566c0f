#include "control/node_controller.h"

#include <chrono>
#include <filesystem>

#include "core/log.h"

namespace cohost::control {
namespace {

using json = nlohmann::json;

policy::CopyPhase PhaseOf(agent::CopyState s) {
  switch (s) {
    case agent::CopyState::kReady: return policy::CopyPhase::kReady;
    case agent::CopyState::kDraining:
    case agent::CopyState::kStopped: return policy::CopyPhase::kDraining;
    case agent::CopyState::kFailed: return policy::CopyPhase::kFailed;
    default: return policy::CopyPhase::kStarting;
  }
}

std::string ModelPath(const std::string& uri) {
  return uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

NodeController::NodeController(store::StateStore& store, ControlApi& api, DeviceInventory inventory,
                               std::shared_ptr<router::StaticCopyDirectory> directory,
                               NodeControllerOptions options)
    : store_(store), api_(api), inventory_(std::move(inventory)), directory_(std::move(directory)),
      options_(std::move(options)) {
  std::filesystem::create_directories(options_.runtime_dir);
}

NodeController::~NodeController() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, c] : copies_) c.supervisor->Stop(now);
}

void NodeController::Record(const std::string& subject, const std::string& reason, const std::string& message) {
  store::Event e{0, NowMs(), "copy", subject, reason, message};
  (void)store_.AppendEvent(e);
  log::Info(message, {{"subject", subject}, {"reason", reason}});
}

void NodeController::PinToDevices(const policy::Assignment& assignment, agent::RunnerLaunch& launch) const {
  int64_t memory_mib = 0;
  std::vector<int> cuda;
  for (const policy::DeviceReservation& r : assignment.devices) {
    memory_mib += r.memory_mib;
    for (const Device& d : inventory_.devices) {
      if (d.id == r.device_id && d.kind == DeviceKind::kCuda && d.cuda_index >= 0) cuda.push_back(d.cuda_index);
    }
  }
  launch.memory_limit_mib = memory_mib;
  bool node_has_cuda = false;
  for (const Device& d : inventory_.devices) node_has_cuda = node_has_cuda || d.kind == DeviceKind::kCuda;
  if (!node_has_cuda) return;  // nothing to hide or pin
  if (cuda.empty()) launch.gpu_layers = 0;  // virtual devices and the host compute on the CPU
  launch.cuda_devices = std::move(cuda);
}

void NodeController::StartCopy(const InferenceComponent& spec, const policy::StartCopy& start,
                               agent::SupervisorTime now) {
  std::string id = spec.name + "-" + std::to_string(next_copy_++);
  agent::RunnerLaunch launch;
  launch.cohost_binary = options_.cohost_binary;
  launch.model_path = ModelPath(spec.model_uri);
  launch.socket_path = options_.runtime_dir + "/" + id + ".sock";
  launch.log_path = options_.runtime_dir + "/" + id + ".log";
  launch.alias = spec.name;
  launch.context = spec.startup.context_length;
  launch.parallel = spec.startup.parallel;
  launch.threads = options_.threads_per_copy > 0 ? options_.threads_per_copy
                                                 : std::max(1, static_cast<int>(spec.compute.cpu_cores));
  PinToDevices(start.assignment, launch);
  auto sink = [this](const agent::CopyEvent& e) { Record(e.copy_id, e.reason, e.message); };
  auto sup = agent::CopySupervisor::Create(id, launch, options_.supervisor, sink);
  if (!sup.ok()) {
    Record(id, "CopyFailed", sup.status().message());
    return;
  }
  std::string devices;
  for (const auto& d : start.assignment.devices) devices += (devices.empty() ? "" : ",") + d.device_id;
  Record(id, "CopyPlaced", "copy of " + spec.name + " placed on " + (devices.empty() ? "cpu" : devices));
  Status st = (*sup)->Start(now);
  if (!st.ok()) Record(id, "CopyFailed", st.message());
  copies_[id] = CopyRecord{spec.name, start.spec_revision, start.assignment, std::move(*sup)};
}

void NodeController::Tick(agent::SupervisorTime now) {
  auto specs = api_.ListComponents();
  if (!specs.ok()) {
    log::Warn("cannot read components", {{"error", specs.status().ToString()}});
    return;
  }
  std::vector<policy::ComponentView> views;
  for (const InferenceComponent& s : *specs) {
    Known& k = known_[s.name];
    std::string key = policy::ReplacementKey(s);
    if (key != k.key) {
      k.key = key;
      ++k.revision;
    }
    policy::ComponentView v;
    v.spec = s;
    v.revision = k.revision;
    v.replacement_revision = k.revision;
    v.desired_copies = s.copies.initial;
    views.push_back(std::move(v));
  }
  policy::NodeSnapshot node = policy::SnapshotFromInventory(inventory_);
  std::vector<policy::CopyView> copy_views;
  for (auto& [id, c] : copies_) {
    agent::CopyState st = c.supervisor->state();
    if (st != agent::CopyState::kStopped && st != agent::CopyState::kFailed)
      (void)policy::ApplyAssignment(c.assignment, &node);
    copy_views.push_back({id, c.component, c.spec_revision, PhaseOf(st), 0});
  }
  policy::ReconcilePlan plan = policy::Reconcile(views, copy_views, node);
  for (const auto& d : plan.drain) {
    auto it = copies_.find(d.copy_id);
    if (it == copies_.end()) continue;
    Record(d.copy_id, "CopyDraining", "draining (" + d.reason + ")");
    it->second.supervisor->Drain(now);
  }
  for (const auto& s : plan.start) {
    for (const InferenceComponent& spec : *specs) {
      if (spec.name == s.component) StartCopy(spec, s, now);
    }
  }
  for (const auto& u : plan.unplaced) {
    std::string& last = last_unplaced_[u.component];
    if (last != u.reason.message()) {
      last = u.reason.message();
      store::Event e{0, NowMs(), "inference_component", u.component, "CopyUnplaced", u.reason.message()};
      (void)store_.AppendEvent(e);
    }
  }
  for (auto& [id, c] : copies_) c.supervisor->Poll(now);
  std::erase_if(copies_, [](const auto& kv) { return kv.second.supervisor->state() == agent::CopyState::kStopped; });
  Publish(*specs);
}

void NodeController::Publish(const std::vector<InferenceComponent>& specs) {
  std::map<std::string, json> status;
  std::map<std::string, router::ComponentRoute> routes;
  std::map<std::string, std::pair<int64_t, int64_t>> reserved;  // device -> (mib, share)
  // Copy choice is per endpoint (least outstanding by default).
  std::map<std::string, policy::RoutingStrategy> routing;
  if (auto endpoints = store_.List(store::ObjectKind::kEndpoint); endpoints.ok()) {
    for (const auto& e : endpoints->objects) {
      auto r = policy::ParseRoutingStrategy(e.spec.value("routing", "least_outstanding"));
      if (r.ok()) routing[e.name] = *r;
    }
  }
  for (const InferenceComponent& s : specs) {
    status[s.name] = {{"desired_copies", s.copies.initial}, {"ready_copies", 0}, {"copies", json::array()}};
    auto it = routing.find(s.endpoint);
    routes[s.name].strategy = it == routing.end() ? policy::RoutingStrategy::kLeastOutstanding : it->second;
    status[s.name]["routing"] = policy::RoutingStrategyName(routes[s.name].strategy);
  }
  for (auto& [id, c] : copies_) {
    agent::CopyState st = c.supervisor->state();
    json devices = json::array();
    for (const auto& d : c.assignment.devices) {
      devices.push_back(d.device_id);
      if (st != agent::CopyState::kFailed) {
        reserved[d.device_id].first += d.memory_mib;
        reserved[d.device_id].second += d.share_milli;
      }
    }
    json copy = {{"id", id}, {"state", agent::CopyStateName(st)}, {"devices", devices}};
    copy["starts"] = c.supervisor->starts();
    if (auto pid = c.supervisor->pid()) copy["pid"] = *pid;
    if (!c.supervisor->last_error().empty()) copy["last_error"] = c.supervisor->last_error();
    if (status.count(c.component)) {
      status[c.component]["copies"].push_back(copy);
      if (st == agent::CopyState::kReady) status[c.component]["ready_copies"] = status[c.component]["ready_copies"].get<int>() + 1;
    }
    if (!routes.count(c.component)) continue;
    if (st == agent::CopyState::kReady) routes[c.component].ready.push_back({id, c.supervisor->address()});
    if (st == agent::CopyState::kPending || st == agent::CopyState::kLoading) routes[c.component].coming++;
  }
  for (auto& [name, route] : routes) directory_->Set(name, route);
  json devices = json::array();
  for (const Device& d : inventory_.devices) {
    devices.push_back({{"id", d.id}, {"name", d.name}, {"kind", DeviceKindName(d.kind)}, {"virtual", d.is_virtual()},
                       {"memory_mib", d.memory_mib}, {"reserved_memory_mib", reserved[d.id].first},
                       {"reserved_accelerators", static_cast<double>(reserved[d.id].second) / 1000.0},
                       {"link_group", d.link_group}});
  }
  std::lock_guard<std::mutex> l(mu_);
  status_ = std::move(status);
  devices_ = {{"devices", devices}, {"cpu_cores", inventory_.cpu_cores}};
}

json NodeController::ComponentStatus(const std::string& component) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = status_.find(component);
  return it == status_.end() ? json{{"desired_copies", 0}, {"ready_copies", 0}, {"copies", json::array()}} : it->second;
}

json NodeController::Devices() const {
  std::lock_guard<std::mutex> l(mu_);
  return devices_.is_null() ? json{{"devices", json::array()}} : devices_;
}

}  // namespace cohost::control
