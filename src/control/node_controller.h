// NodeController: drives one node towards the desired state (the reconciler's live driver).
//
// Each Tick(now): read the components from the store, ask the autoscaler (if any) for each one's
// desired copy count, look at the copies' supervisors, ask policy::Reconcile what to start and
// drain (scale-in drains the least-loaded copies), evict idle copies of lower priority (or, for
// a cold component, reclaim long-idle copies of equal priority) when a component cannot be
// placed (policy::PlanEviction), poll every supervisor, and publish the ready copies to the
// router's directory and the gauges to the metrics registry. About once a second it also reads
// what each copy's runner really holds against what it reserved (control/memory_monitor.h).
// Copy, scaling and memory events go to the store's event log.
// Threads: Tick() and Describe() from one owner thread at a time (serve's reconcile thread);
// ComponentStatus() and Devices() from any thread (they read a snapshot under a mutex).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/copy_supervisor.h"
#include "agent/mps.h"
#include "agent/overhead_probe.h"
#include "agent/process_memory.h"
#include "control/autoscaler.h"
#include "control/control_api.h"
#include "control/event_log.h"
#include "control/device_claims.h"
#include "control/memory_monitor.h"
#include "core/device.h"
#include "core/metrics.h"
#include "policy/reconcile.h"
#include "router/copy_directory.h"
#include "store/state_store.h"

namespace cohost::control {

struct NodeControllerOptions {
  std::string cohost_binary;   // the runner executable
  std::string runtime_dir;     // sockets and runner logs go here
  int threads_per_copy = 0;    // compute threads of each runner; 0: the copy's cpu_cores, at least 1
  // Where copy, scaling and placement events go (shared with the control API, so one queue keeps
  // what the store refuses); null: the controller appends through an EventLog of its own.
  EventLog* events = nullptr;
  agent::SupervisorOptions supervisor;
  // Desired copy counts; null: every component runs copies.initial. Must outlive the controller.
  Autoscaler* autoscaler = nullptr;
  // Copy, component and device gauges go here (and the autoscaler reads from it); null: none.
  MetricsRegistry* metrics = nullptr;
  // Requests in flight per copy id (the router's counters); empty: unknown (all 0).
  std::function<std::map<std::string, int64_t>()> copy_in_flight;
  // Requests sent to each copy so far, by copy id (the router's counters); empty: unknown. With
  // copy_in_flight, tells since when a copy has served nothing (a request that came and went
  // between two ticks counts), for the equal-priority reclaim's idle time.
  std::function<std::map<std::string, int64_t>()> copy_requests;
  // Called (on the Tick thread) when the set of ready copies changed, e.g. to close the router's
  // pooled connections to copies that went away.
  std::function<void()> on_copies_changed;
  // Whether an NVIDIA MPS daemon enforces compute shares on the CUDA devices (serve --mps): copies
  // on them get MPS limits, and /v1/devices says so per device.
  agent::MpsDecision mps;
  // Reads what each copy's runner process holds on its devices; null: use is not measured. Must
  // outlive the controller.
  const agent::ProcessMemoryReader* memory_reader = nullptr;
  // Where each device's per-process overhead (Device::process_overhead_mib of the inventory) came
  // from, for GET /v1/devices.
  std::map<std::string, agent::DeviceOverhead> overheads;
};

class NodeController {
 public:
  // `inventory` carries each device's per-process overhead, which every copy placed there reserves
  // on top of its memory_mib.
  NodeController(store::StateStore& store, ControlApi& api, DeviceInventory inventory,
                 std::shared_ptr<router::StaticCopyDirectory> directory, NodeControllerOptions options);
  ~NodeController();  // stops every copy

  void Tick(agent::SupervisorTime now);
  // True when some copy is loading: its readiness is worth checking sooner than a tick period
  // (a cold request waits on it). Owner thread, like Tick().
  bool AnyCopyLoading() const;

  // The "status" object of a component for the control API. Besides the copies, "condition"
  // ({"reason", "message"}) says why the component lacks copies while it does: "CopyUnplaced" (a
  // copy fits nowhere now) or "CopyFailed" (its copies failed; the message has their last error).
  nlohmann::json ComponentStatus(const std::string& component) const;
  // GET /v1/devices: devices, virtual or not, with their reservations, per-process overhead, the
  // memory their copies use, whether compute shares on each are enforced ("shares_enforced",
  // "shares_enforcement": the reason), and who holds it ("tenancy": "dedicated", "shared" or
  // "free"; "owner": the dedicated endpoint, or null).
  nlohmann::json Devices() const;

 private:
  struct CopyRecord {
    std::string component;
    int64_t spec_revision = 0;
    policy::Assignment assignment;
    std::unique_ptr<agent::CopySupervisor> supervisor;
    agent::SupervisorTime placed_at{};
    bool was_ready = false;  // its load time was recorded
    std::string model_path;  // the file it loads (for load bytes)
    // From the runner's /stats: its token counters as last seen (the metrics get the increase).
    int64_t seen_prompt_tokens = 0;
    int64_t seen_generated_tokens = 0;
    // Since when the ready copy has served nothing (policy::EvictionCandidate::idle_since);
    // empty while it loads or serves. `seen_requests`: the router's request count at the last tick.
    std::optional<agent::SupervisorTime> idle_since = std::nullopt;
    int64_t seen_requests = -1;
  };
  struct Known {
    std::string key;          // policy::ReplacementKey of the last spec seen
    int64_t revision = 0;     // bumped when the key changes
  };

  void StartCopy(const InferenceComponent& spec, const policy::StartCopy& start, agent::SupervisorTime now);
  // The runner's memory limit (the copy's reservation less the per-process overheads: what its
  // llama.cpp buffers may take) and, on a node with CUDA devices, the devices it may see: exactly
  // those it was placed on (none, and no offload, for virtual devices or the host), with MPS
  // limits when MPS enforces shares (agent/device_pinning.h).
  void PinToDevices(const policy::Assignment& assignment, agent::RunnerLaunch& launch) const;
  void Publish(const std::vector<InferenceComponent>& specs, const std::map<std::string, int>& desired);
  // Updates every copy's idle_since from the router's counters (in_flight_ must be current).
  void TrackIdle(agent::SupervisorTime now);
  // For components the plan could not place: frees room by evicting idle copies of lower
  // priority components, or long-idle ones of equal priority for a cold component
  // (policy::PlanEviction), draining them.
  void Evict(const std::vector<InferenceComponent>& specs, const policy::ReconcilePlan& plan,
             policy::NodeSnapshot node, agent::SupervisorTime now);
  // About once a second: each ready copy's runner /stats into the per-copy gauges.
  void ScrapeCopyStats(agent::SupervisorTime now);
  // About once a second: what each copy's process holds against its reservation.
  void MeasureMemory(agent::SupervisorTime now);
  void PublishMetrics(const std::map<std::string, std::pair<int64_t, int64_t>>& reserved,
                      const std::map<std::string, int>& reservations);
  void Record(const std::string& subject, const std::string& reason, const std::string& message);
  void RecordComponent(const std::string& component, const std::string& reason, const std::string& message);
  // What a copy of `spec` reserves in CPU cores: its cpu_cores, or when that is 0 the threads its
  // runner computes with (no CPU over-commit by default).
  InferenceComponent WithCpuReservation(InferenceComponent spec) const;
  int RunnerThreads(const InferenceComponent& spec) const;
  // Stops routing to components that are gone from the store and drops their series.
  void Unpublish(const std::set<std::string>& published);

  store::StateStore& store_;
  ControlApi& api_;
  const DeviceInventory inventory_;
  std::shared_ptr<router::StaticCopyDirectory> directory_;
  const NodeControllerOptions options_;

  // Owned by the Tick() thread.
  std::map<std::string, CopyRecord> copies_;
  std::map<std::string, Known> known_;
  std::map<std::string, std::string> last_unplaced_;  // component -> message (to log changes only)
  // component -> copies draining to make room for it; kept until it is placed (it then places
  // before components of its priority: policy::ComponentView::evicted_for) or they are gone.
  std::map<std::string, std::vector<std::string>> evicting_for_;
  std::map<std::string, std::string> unplaceable_;  // component -> why its copy fits on no device even when empty
  std::map<std::string, std::string> failed_;       // component -> why it starts no more copies (they failed)
  // component -> (event reason, message) while it lacks copies it wants (status "condition").
  std::map<std::string, std::pair<std::string, std::string>> conditions_;
  std::set<std::string> routed_;                    // components published to the directory
  std::unique_ptr<EventLog> own_events_;            // when options_.events is null
  EventLog* events_ = nullptr;
  std::map<std::string, int64_t> in_flight_;  // copy id -> requests in flight, at this tick
  std::vector<std::string> last_ready_;       // ready copy ids at the last Publish
  agent::SupervisorTime next_scrape_{};       // when ScrapeCopyStats runs next
  agent::SupervisorTime next_memory_{};       // when MeasureMemory runs next
  MemoryMonitor memory_;
  DeviceClaims claims_;  // devices dedicated endpoints own
  // Copy ids are "<component>-<n>" with n counting up across the node's life: at start it
  // continues after the highest n among the runner logs in runtime_dir, so a restarted serve
  // does not reuse an id (nor append to its log).
  int next_copy_ = 1;

  // Snapshot for other threads, guarded by mu_.
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> status_;
  nlohmann::json devices_;
};

}  // namespace cohost::control
