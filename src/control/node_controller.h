// NodeController: drives one node towards the desired state (the reconciler's live driver).
//
// Each Tick(now): read the components from the store, look at the copies' supervisors, ask
// policy::Reconcile what to start and drain, act on it, poll every supervisor, and publish the
// ready copies to the router's directory. Copy events go to the store's event log.
// Threads: Tick() and Describe() from one owner thread at a time (serve's reconcile thread);
// ComponentStatus() and Devices() from any thread (they read a snapshot under a mutex).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/copy_supervisor.h"
#include "control/control_api.h"
#include "core/device.h"
#include "policy/reconcile.h"
#include "router/copy_directory.h"
#include "store/state_store.h"

namespace cohost::control {

struct NodeControllerOptions {
  std::string cohost_binary;   // the runner executable
  std::string runtime_dir;     // sockets and runner logs go here
  int threads_per_copy = 0;    // compute threads of each runner; 0: the copy's cpu_cores, at least 1
  agent::SupervisorOptions supervisor;
};

class NodeController {
 public:
  NodeController(store::StateStore& store, ControlApi& api, DeviceInventory inventory,
                 std::shared_ptr<router::StaticCopyDirectory> directory, NodeControllerOptions options);
  ~NodeController();  // stops every copy

  void Tick(agent::SupervisorTime now);

  // The "status" object of a component for the control API.
  nlohmann::json ComponentStatus(const std::string& component) const;
  // GET /v1/devices: devices, virtual or not, with their reservations.
  nlohmann::json Devices() const;

 private:
  struct CopyRecord {
    std::string component;
    int64_t spec_revision = 0;
    policy::Assignment assignment;
    std::unique_ptr<agent::CopySupervisor> supervisor;
  };
  struct Known {
    std::string key;          // policy::ReplacementKey of the last spec seen
    int64_t revision = 0;     // bumped when the key changes
  };

  void StartCopy(const InferenceComponent& spec, const policy::StartCopy& start, agent::SupervisorTime now);
  // The runner's memory limit (the copy's reservation) and, on a node with CUDA devices, the devices
  // it may see: exactly those it was placed on (none, and no offload, for virtual devices or the host).
  void PinToDevices(const policy::Assignment& assignment, agent::RunnerLaunch& launch) const;
  void Publish(const std::vector<InferenceComponent>& specs);
  void Record(const std::string& subject, const std::string& reason, const std::string& message);

  store::StateStore& store_;
  ControlApi& api_;
  const DeviceInventory inventory_;
  std::shared_ptr<router::StaticCopyDirectory> directory_;
  const NodeControllerOptions options_;

  // Owned by the Tick() thread.
  std::map<std::string, CopyRecord> copies_;
  std::map<std::string, Known> known_;
  std::map<std::string, std::string> last_unplaced_;  // component -> message (to log changes only)
  int next_copy_ = 1;

  // Snapshot for other threads, guarded by mu_.
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> status_;
  nlohmann::json devices_;
};

}  // namespace cohost::control
