#include "control/node_controller.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "agent/device_pinning.h"
#include "core/log.h"
#include "core/metric_names.h"
#include "net/http_client.h"
#include "policy/eviction.h"

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

// The n of a runner log "<component>-<n>.log", or 0 for other files.
int CopyNumber(const std::filesystem::path& file) {
  if (file.extension() != ".log") return 0;
  const std::string stem = file.stem().string();
  const size_t dash = stem.rfind('-');
  if (dash == std::string::npos || dash + 1 == stem.size() || stem.size() - dash > 9) return 0;
  int n = 0;
  for (size_t i = dash + 1; i < stem.size(); ++i) {
    if (stem[i] < '0' || stem[i] > '9') return 0;
    n = n * 10 + (stem[i] - '0');
  }
  return n;
}

void RemoveSocket(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

NodeController::NodeController(store::StateStore& store, ControlApi& api, DeviceInventory inventory,
                               std::shared_ptr<router::StaticCopyDirectory> directory,
                               NodeControllerOptions options)
    : store_(store), api_(api), inventory_(std::move(inventory)), directory_(std::move(directory)),
      options_(std::move(options)),
      memory_(inventory_, {options_.memory_reader, options_.metrics,
                           [this](const std::string& id, const std::string& reason, const std::string& message) {
                             Record(id, reason, message);
                           },
                           options_.overheads}),
      claims_(store) {
  std::filesystem::create_directories(options_.runtime_dir);
  if (options_.events == nullptr) own_events_ = std::make_unique<EventLog>(store_, EventLogOptions{});
  events_ = options_.events != nullptr ? options_.events : own_events_.get();
  // Runner sockets left by a serve that ended without stopping its copies are stale (no runner
  // of this node runs yet), and copy ids continue after the highest one used before.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.runtime_dir, ec)) {
    if (entry.path().extension() == ".sock") RemoveSocket(entry.path().string());
    next_copy_ = std::max(next_copy_, CopyNumber(entry.path()) + 1);
  }
}

NodeController::~NodeController() {
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, c] : copies_) c.supervisor->Stop(now);
}

bool NodeController::AnyCopyLoading() const {
  for (const auto& [id, c] : copies_) {
    if (c.supervisor && c.supervisor->state() == agent::CopyState::kLoading) return true;
  }
  return false;
}

void NodeController::Record(const std::string& subject, const std::string& reason, const std::string& message) {
  events_->Append(store::Event{0, NowMs(), "copy", subject, reason, message});
  log::Info(message, {{"subject", subject}, {"reason", reason}});
}

void NodeController::RecordComponent(const std::string& component, const std::string& reason,
                                     const std::string& message) {
  events_->Append(store::Event{0, NowMs(), "inference_component", component, reason, message});
  log::Info(message, {{"subject", component}, {"reason", reason}});
}

int NodeController::RunnerThreads(const InferenceComponent& spec) const {
  return options_.threads_per_copy > 0 ? options_.threads_per_copy
                                       : std::max(1, static_cast<int>(spec.compute.cpu_cores));
}

InferenceComponent NodeController::WithCpuReservation(InferenceComponent spec) const {
  if (spec.compute.cpu_cores <= 0) spec.compute.cpu_cores = RunnerThreads(spec);
  return spec;
}

void NodeController::PinToDevices(const policy::Assignment& assignment, agent::RunnerLaunch& launch) const {
  agent::PinToDevices(assignment, inventory_, options_.mps.enforced, launch);
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
  launch.load_mode = spec.startup.load_mode;
  launch.threads = RunnerThreads(spec);
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
  copies_[id] = CopyRecord{spec.name, start.spec_revision, start.assignment, std::move(*sup), now, false,
                           launch.model_path};
}

void NodeController::Tick(agent::SupervisorTime now) {
  events_->Flush();  // events the store refused earlier
  auto specs = api_.ListComponents();
  if (!specs.ok()) {
    log::Warn("cannot read components", {{"error", specs.status().ToString()}});
    return;
  }
  std::map<std::string, int> desired;
  if (options_.autoscaler != nullptr) {
    for (const ScaleChange& c : options_.autoscaler->Tick(*specs, now)) {
      const char* reason = c.decision.direction == policy::ScaleDirection::kOut ? "ScaledOut" : "ScaledIn";
      RecordComponent(c.component, reason,
                      "desired copies " + std::to_string(c.decision.desired) + ": " + c.decision.reason);
    }
  }
  in_flight_ = options_.copy_in_flight ? options_.copy_in_flight() : std::map<std::string, int64_t>{};
  TrackIdle(now);
  claims_.Refresh();
  std::vector<policy::ComponentView> views;
  for (const InferenceComponent& s : *specs) {
    Known& k = known_[s.name];
    std::string key = policy::ReplacementKey(s);
    if (key != k.key) {
      k.key = key;
      ++k.revision;
    }
    policy::ComponentView v;
    v.spec = WithCpuReservation(s);
    v.revision = k.revision;
    v.replacement_revision = k.revision;
    v.desired_copies = options_.autoscaler ? options_.autoscaler->Desired(s) : s.copies.initial;
    auto freed = evicting_for_.find(s.name);
    v.evicted_for = freed != evicting_for_.end() && !freed->second.empty();
    v.dedicated = claims_.Dedicated(s.endpoint);
    desired[s.name] = v.desired_copies;
    views.push_back(std::move(v));
  }
  policy::NodeSnapshot node = policy::SnapshotFromInventory(inventory_);
  claims_.Seed(&node);
  std::vector<policy::CopyView> copy_views;
  for (auto& [id, c] : copies_) {
    agent::CopyState st = c.supervisor->state();
    if (st != agent::CopyState::kStopped && st != agent::CopyState::kFailed)
      (void)policy::ApplyAssignment(c.assignment, &node);
    auto load = in_flight_.find(id);
    int in_flight = load == in_flight_.end() ? 0 : static_cast<int>(load->second);
    copy_views.push_back({id, c.component, c.spec_revision, PhaseOf(st), in_flight});
  }
  policy::ReconcilePlan plan = policy::Reconcile(views, copy_views, node);
  // Room freed by evictions is kept for its component until it is placed there, or until the
  // evicted copies are gone and it no longer asks (Evict() looks again while it is unplaced).
  for (auto& [component, pending] : evicting_for_) {
    bool placed = std::any_of(plan.start.begin(), plan.start.end(),
                              [&](const policy::StartCopy& s) { return s.component == component; });
    if (placed) pending.clear();
    std::erase_if(pending, [&](const std::string& id) { return !copies_.count(id); });
  }
  std::erase_if(evicting_for_, [](const auto& kv) { return kv.second.empty(); });
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
    (void)policy::ApplyAssignment(s.assignment, &node);
    claims_.Claim(s.assignment, inventory_);
  }
  // Why components lack copies: unplaced (no room now: CopyUnplaced), or failed (as many copies
  // of the current spec failed as are wanted: CopyFailed, with the copies' last error).
  conditions_.clear();
  failed_.clear();
  for (const auto& u : plan.unplaced) {
    const bool failed = u.copies_failed;
    std::string message = u.reason.message();
    if (failed) {
      for (const auto& [id, c] : copies_) {
        if (c.component == u.component && c.supervisor->state() == agent::CopyState::kFailed &&
            !c.supervisor->last_error().empty()) {
          message += "; last error (" + id + "): " + c.supervisor->last_error();
        }
      }
      failed_[u.component] = message;
    }
    const char* reason = failed ? "CopyFailed" : "CopyUnplaced";
    conditions_[u.component] = {reason, message};
    std::string& last = last_unplaced_[u.component];
    if (last != message) {
      last = message;
      RecordComponent(u.component, reason, message);
    }
  }
  if (!plan.unplaced.empty()) Evict(*specs, plan, node, now);
  // Components whose copy would not fit even on this node with nothing else on it: no scale-in
  // or eviction can make room, so the router answers their requests 503 at once instead of
  // holding them for a copy that is not coming. (A copy that fits once others go keeps its
  // requests held: room may come.)
  unplaceable_.clear();
  if (!plan.unplaced.empty()) {
    // Devices dedicated endpoints own stay theirs however the copies come and go.
    policy::NodeSnapshot empty = policy::SnapshotFromInventory(inventory_);
    claims_.Seed(&empty);
    for (const auto& u : plan.unplaced) {
      auto spec = std::find_if(specs->begin(), specs->end(),
                               [&](const InferenceComponent& s) { return s.name == u.component; });
      if (spec != specs->end() &&
          !policy::PlaceCopy(empty, spec->compute, claims_.TenancyOf(spec->endpoint), spec->placement).ok())
        unplaceable_[u.component] = u.reason.message();
    }
  }
  for (auto& [id, c] : copies_) {
    // A draining copy the router still has requests on is not stopped (a request sent from a
    // route snapshot taken before the drain may not have reached the runner yet), but it is
    // polled, so its drain deadline and an exit are still seen.
    auto load = in_flight_.find(id);
    c.supervisor->SetRouterInFlight(load == in_flight_.end() ? 0 : static_cast<int>(load->second));
    c.supervisor->Poll(now);
    if (!c.was_ready && c.supervisor->state() == agent::CopyState::kReady) {
      c.was_ready = true;
      if (options_.metrics != nullptr) {
        options_.metrics->Get(metric::kCopyLoadSeconds, {{"component", c.component}})
            .Observe(std::chrono::duration<double>(now - c.placed_at).count());
        std::error_code ec;
        auto bytes = std::filesystem::file_size(c.model_path, ec);
        if (!ec) options_.metrics->Get(metric::kCopyLoadBytesTotal, {{"component", c.component}}).Add(static_cast<double>(bytes));
      }
    }
  }
  // Stopped copies are gone; failed ones stay (status shows them) until their component is
  // deleted. Either way their runner has exited: its socket goes.
  std::set<std::string> names;
  for (const InferenceComponent& s : *specs) names.insert(s.name);
  std::erase_if(copies_, [&](const auto& kv) {
    const agent::CopyState st = kv.second.supervisor->state();
    const bool gone = st == agent::CopyState::kStopped || (st == agent::CopyState::kFailed && !names.count(kv.second.component));
    if (agent::IsFinal(st)) RemoveSocket(options_.runtime_dir + "/" + kv.first + ".sock");
    return gone;
  });
  if (options_.metrics != nullptr && now >= next_scrape_) ScrapeCopyStats(now);
  if (now >= next_memory_) MeasureMemory(now);
  Publish(*specs, desired);
}

void NodeController::ScrapeCopyStats(agent::SupervisorTime now) {
  next_scrape_ = now + std::chrono::seconds(1);
  MetricsRegistry& m = *options_.metrics;
  for (const char* name : {metric::kCopyBusySlots, metric::kCopySlots, metric::kCopyQueued, metric::kCopyKvCellsUsed})
    m.Remove(name, {});
  for (auto& [id, c] : copies_) {
    if (c.supervisor->state() != agent::CopyState::kReady) continue;
    // A short timeout: a stuck runner must not stall the control loop (its health check and
    // the supervisor deal with it).
    net::HttpClient client(c.supervisor->address(), std::chrono::milliseconds(200));
    auto r = client.Send("GET", "/stats");
    if (!r.ok() || r->status != 200) continue;
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_object()) continue;
    Labels l = {{"component", c.component}, {"copy", id}};
    m.Get(metric::kCopyBusySlots, l).Set(j.value("slots_busy", 0.0));
    m.Get(metric::kCopySlots, l).Set(j.value("slots_total", 0.0));
    m.Get(metric::kCopyQueued, l).Set(j.value("queue_length", 0.0));
    m.Get(metric::kCopyKvCellsUsed, l).Set(j.value("kv_cells_used", 0.0));
    // Counters: add what grew since the last scrape (a restarted runner counts from zero again).
    Labels cl = {{"component", c.component}};
    auto grow = [&](const char* field, int64_t& seen, const char* metric_name) {
      int64_t now_total = j.value(field, int64_t{0});
      int64_t added = now_total >= seen ? now_total - seen : now_total;
      seen = now_total;
      if (added > 0) m.Get(metric_name, cl).Add(static_cast<double>(added));
    };
    grow("prompt_tokens", c.seen_prompt_tokens, metric::kPromptTokensTotal);
    grow("tokens_generated", c.seen_generated_tokens, metric::kGeneratedTokensTotal);
    memory_.SetBuffers(id, c.component, j.value("memory_bytes", int64_t{0}));
  }
}

void NodeController::MeasureMemory(agent::SupervisorTime now) {
  next_memory_ = now + std::chrono::seconds(1);
  std::vector<MemoryMonitor::CopyView> views;
  for (const auto& [id, c] : copies_) {
    if (agent::IsFinal(c.supervisor->state())) continue;  // holds nothing, reserves nothing
    views.push_back({id, c.component, c.supervisor->pid(), &c.assignment});
  }
  memory_.Measure(views);
}

void NodeController::TrackIdle(agent::SupervisorTime now) {
  const std::map<std::string, int64_t> sent =
      options_.copy_requests ? options_.copy_requests() : std::map<std::string, int64_t>{};
  for (auto& [id, c] : copies_) {
    if (c.supervisor->state() != agent::CopyState::kReady) {
      c.idle_since.reset();
      continue;
    }
    auto load = in_flight_.find(id);
    auto count = sent.find(id);
    const int64_t requests = count == sent.end() ? 0 : count->second;
    if (load != in_flight_.end() && load->second > 0) {
      c.idle_since.reset();
    } else if (requests != c.seen_requests || !c.idle_since) {
      c.idle_since = now;  // it just became ready, or a request came and went since the last tick
    }
    c.seen_requests = requests;
  }
}

void NodeController::Evict(const std::vector<InferenceComponent>& specs, const policy::ReconcilePlan& plan,
                           policy::NodeSnapshot node, agent::SupervisorTime now) {
  std::map<std::string, const InferenceComponent*> by_name;
  for (const InferenceComponent& s : specs) by_name[s.name] = &s;
  // Live copies per component, and requests held for each (metrics: waiting for a copy).
  std::map<std::string, int> live;
  for (const auto& [id, c] : copies_) {
    agent::CopyState st = c.supervisor->state();
    if (st != agent::CopyState::kDraining && st != agent::CopyState::kStopped && st != agent::CopyState::kFailed)
      ++live[c.component];
  }
  auto held = [&](const std::string& component) {
    if (options_.metrics == nullptr) return 0;
    const Labels labels = {{"component", component}};
    return static_cast<int>(options_.metrics->Value(metric::kRequestsHeld, labels));
  };
  for (const auto& u : plan.unplaced) {
    if (u.reason.code() != StatusCode::kResourceExhausted || !by_name.count(u.component)) continue;
    // One eviction at a time per component: the copies already draining for it still hold their
    // reservations until they stop.
    std::vector<std::string>& pending = evicting_for_[u.component];
    std::erase_if(pending, [&](const std::string& id) { return !copies_.count(id); });
    if (!pending.empty()) continue;
    const InferenceComponent& spec = *by_name[u.component];
    policy::EvictionRequester requester;
    requester.component = spec.name;
    requester.priority = spec.priority;
    requester.need = spec.compute;
    requester.strategy = spec.placement;
    requester.tenancy = claims_.TenancyOf(spec.endpoint);
    // Cold: a request waits for the component's first copy.
    requester.cold = held(spec.name) > 0 && live[spec.name] == 0;
    std::vector<policy::EvictionCandidate> candidates;
    for (const auto& [id, c] : copies_) {
      agent::CopyState st = c.supervisor->state();
      if (st != agent::CopyState::kReady && st != agent::CopyState::kLoading && st != agent::CopyState::kPending)
        continue;
      auto owner = by_name.find(c.component);
      if (owner == by_name.end() || c.component == u.component) continue;
      policy::EvictionCandidate cand;
      cand.copy_id = id;
      cand.component = c.component;
      cand.priority = owner->second->priority;
      auto load = in_flight_.find(id);
      cand.in_flight = load == in_flight_.end() ? 0 : static_cast<int>(load->second);
      cand.component_waiting = held(c.component);
      cand.component_copies = live[c.component];
      cand.component_min = owner->second->copies.min;
      cand.idle_since = c.idle_since;
      cand.reclaim_after_idle = std::chrono::seconds(owner->second->scaling.reclaim_after_idle_s);
      cand.assignment = c.assignment;
      candidates.push_back(std::move(cand));
    }
    policy::EvictionPlan ev = policy::PlanEviction(node, requester, candidates, now);
    for (const policy::Eviction& e : ev.evict) {
      CopyRecord& c = copies_.at(e.copy_id);
      Record(e.copy_id, "CopyEvicted", "evicted " + e.why);
      c.supervisor->Drain(now);
      --live[c.component];
      pending.push_back(e.copy_id);
      if (options_.autoscaler != nullptr) options_.autoscaler->Evicted(c.component, now);
      if (options_.metrics != nullptr) options_.metrics->Get(metric::kEvictionsTotal, {{"component", c.component}}).Add(1);
    }
  }
}

void NodeController::Publish(const std::vector<InferenceComponent>& specs, const std::map<std::string, int>& desired) {
  std::map<std::string, json> status;
  std::map<std::string, router::ComponentRoute> routes;
  std::map<std::string, std::pair<int64_t, int64_t>> reserved;  // device -> (mib, share)
  std::map<std::string, int> reservations;                      // device -> copies
  std::map<std::string, policy::DeviceTenants> tenants;         // device -> owner, copies
  for (const auto& [device, endpoint] : claims_.owners()) tenants[device].owner = endpoint;
  std::map<std::string, int> loading;                           // component -> copies loading
  std::vector<std::string> ready_ids;
  std::set<std::string> published;  // components routed after this tick
  // Copy choice is per endpoint (least outstanding by default).
  std::map<std::string, policy::RoutingStrategy> routing;
  if (auto endpoints = store_.List(store::ObjectKind::kEndpoint); endpoints.ok()) {
    for (const auto& e : endpoints->objects) {
      auto r = policy::ParseRoutingStrategy(e.spec.value("routing", "least_outstanding"));
      if (r.ok()) routing[e.name] = *r;
    }
  }
  for (const InferenceComponent& s : specs) {
    auto d = desired.find(s.name);
    status[s.name] = {{"desired_copies", d == desired.end() ? s.copies.initial : d->second},
                      {"ready_copies", 0}, {"copies", json::array()}};
    auto it = routing.find(s.endpoint);
    router::ComponentRoute& route = routes[s.name];
    route.strategy = it == routing.end() ? policy::RoutingStrategy::kLeastOutstanding : it->second;
    route.max_held = s.scaling.max_held_requests;
    route.hold_timeout = std::chrono::seconds(s.scaling.hold_timeout_s);
    status[s.name]["routing"] = policy::RoutingStrategyName(route.strategy);
  }
  if (options_.metrics != nullptr) {  // only copies loading now keep these series
    options_.metrics->Remove(metric::kCopyLoadProgressBytes, {});
    options_.metrics->Remove(metric::kCopyLoadTotalBytes, {});
  }
  for (auto& [id, c] : copies_) {
    agent::CopyState st = c.supervisor->state();
    json devices = json::array();
    for (const auto& d : c.assignment.devices) {
      devices.push_back(d.device_id);
      if (st != agent::CopyState::kFailed) {
        reserved[d.device_id].first += d.memory_mib;
        reserved[d.device_id].second += d.share_milli;
        ++reservations[d.device_id];
        if (st != agent::CopyState::kStopped) tenants[d.device_id].Add(c.assignment.tenancy);
      }
    }
    json copy = {{"id", id}, {"state", agent::CopyStateName(st)}, {"devices", devices}};
    copy["starts"] = c.supervisor->starts();
    if (auto pid = c.supervisor->pid()) copy["pid"] = *pid;
    if (auto load = in_flight_.find(id); load != in_flight_.end()) copy["in_flight"] = load->second;
    if (!c.supervisor->last_error().empty()) copy["last_error"] = c.supervisor->last_error();
    if (!agent::IsFinal(st)) copy["memory"] = memory_.CopyJson(id, c.assignment);
    if (const auto& p = c.supervisor->load_progress()) {
      copy["load_progress"] = {{"bytes", p->bytes}, {"total", p->total}, {"mib_per_s", p->mib_per_s},
                               {"eta_s", p->eta_s}, {"text", agent::DescribeLoadProgress(*p)}};
      if (options_.metrics != nullptr) {
        Labels l = {{"component", c.component}, {"copy", id}};
        options_.metrics->Get(metric::kCopyLoadProgressBytes, l).Set(static_cast<double>(p->bytes));
        options_.metrics->Get(metric::kCopyLoadTotalBytes, l).Set(static_cast<double>(p->total));
      }
    }
    if (status.count(c.component)) {
      status[c.component]["copies"].push_back(copy);
      if (st == agent::CopyState::kReady) status[c.component]["ready_copies"] = status[c.component]["ready_copies"].get<int>() + 1;
    }
    if (!routes.count(c.component)) continue;
    if (st == agent::CopyState::kReady) {
      routes[c.component].ready.push_back({id, c.supervisor->address()});
      ready_ids.push_back(id);
    }
    if (st == agent::CopyState::kPending || st == agent::CopyState::kLoading) {
      routes[c.component].coming++;
      loading[c.component]++;
    }
  }
  for (auto& [name, route] : routes) {
    if (auto u = unplaceable_.find(name); u != unplaceable_.end() && route.coming == 0) route.unplaced = u->second;
    if (auto f = failed_.find(name); f != failed_.end() && route.coming == 0 && route.ready.empty())
      route.failed = f->second;
    if (auto c = conditions_.find(name); c != conditions_.end())
      status[name]["condition"] = {{"reason", c->second.first}, {"message", c->second.second}};
    // Removed from the directory since this tick read the specs: deleted through the API
    // (ControlHooks::on_component_deleted). Not published again, even from this stale list.
    if (routed_.count(name) && directory_->Find(name) == nullptr) continue;
    directory_->Set(name, route);
    published.insert(name);
  }
  Unpublish(published);
  if (options_.metrics != nullptr) {
    for (const InferenceComponent& s : specs) {
      if (!published.count(s.name)) continue;
      Labels l = {{"component", s.name}};
      options_.metrics->Get(metric::kCopiesReady, l).Set(status[s.name]["ready_copies"].get<int>());
      options_.metrics->Get(metric::kCopiesLoading, l).Set(loading[s.name]);
    }
    options_.metrics->Remove(metric::kCopyInFlight, {});
    for (auto& [id, c] : copies_) {
      auto load = in_flight_.find(id);
      options_.metrics->Get(metric::kCopyInFlight, {{"component", c.component}, {"copy", id}})
          .Set(load == in_flight_.end() ? 0 : static_cast<double>(load->second));
    }
    PublishMetrics(reserved, reservations);
  }
  if (ready_ids != last_ready_) {
    last_ready_ = ready_ids;
    if (options_.on_copies_changed) options_.on_copies_changed();
  }
  json devices = json::array();
  for (const Device& d : inventory_.devices) {
    json entry = {{"id", d.id}, {"name", d.name}, {"kind", DeviceKindName(d.kind)}, {"virtual", d.is_virtual()},
                  {"memory_mib", d.memory_mib}, {"reserved_memory_mib", reserved[d.id].first},
                  {"reserved_accelerators", static_cast<double>(reserved[d.id].second) / 1000.0},
                  {"link_group", d.link_group}};
    entry.update(memory_.DeviceJson(d));
    const agent::ShareEnforcement shares = agent::DeviceShareEnforcement(d, options_.mps);
    entry["shares_enforced"] = shares.enforced;
    entry["shares_enforcement"] = shares.reason;
    const policy::DeviceTenants& held = tenants[d.id];
    entry["tenancy"] = held.Kind();
    entry["owner"] = held.owner.empty() ? json(nullptr) : json(held.owner);
    devices.push_back(std::move(entry));
  }
  std::lock_guard<std::mutex> l(mu_);
  status_ = std::move(status);
  devices_ = {{"devices", devices}, {"cpu_cores", inventory_.cpu_cores}};
}

void NodeController::Unpublish(const std::set<std::string>& published) {
  for (auto it = routed_.begin(); it != routed_.end();) {
    if (published.count(*it)) {
      ++it;
      continue;
    }
    // Deleted: requests for it are answered 404 from now on (held ones included), and its
    // gauges go (its counters stay: they are history).
    directory_->Remove(*it);
    if (options_.metrics != nullptr) {
      const Labels l = {{"component", *it}};
      for (const char* name : {metric::kCopiesReady, metric::kCopiesLoading, metric::kCopiesDesired})
        options_.metrics->Remove(name, l);
    }
    last_unplaced_.erase(*it);
    it = routed_.erase(it);
  }
  routed_.insert(published.begin(), published.end());
}

void NodeController::PublishMetrics(const std::map<std::string, std::pair<int64_t, int64_t>>& reserved,
                                    const std::map<std::string, int>& reservations) {
  MetricsRegistry& m = *options_.metrics;
  for (const Device& d : inventory_.devices) {
    Labels l = {{"device", d.id}, {"virtual", d.is_virtual() ? "true" : "false"}};
    auto r = reserved.find(d.id);
    auto n = reservations.find(d.id);
    m.Get(metric::kDeviceMemoryBytes, l).Set(static_cast<double>(d.memory_mib) * 1048576.0);
    m.Get(metric::kDeviceMemoryReservedBytes, l).Set(r == reserved.end() ? 0 : static_cast<double>(r->second.first) * 1048576.0);
    m.Get(metric::kDeviceAcceleratorsReserved, l).Set(r == reserved.end() ? 0 : static_cast<double>(r->second.second) / 1000.0);
    m.Get(metric::kDeviceReservations, l).Set(n == reservations.end() ? 0 : n->second);
    m.Get(metric::kDeviceProcessOverheadBytes, l).Set(static_cast<double>(d.process_overhead_mib) * 1048576.0);
  }
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
