// ControlApi: the JSON REST API over desired state (DESIGN.md, API shapes).
//
//   POST   /v1/endpoints                      create        GET /v1/endpoints            list
//   GET    /v1/endpoints/{name}               describe      DELETE /v1/endpoints/{name}  delete
//   POST   /v1/inference-components           create        GET .../inference-components list
//   GET    /v1/inference-components/{name}    describe (spec + status)
//   PATCH  /v1/inference-components/{name}    update (copies, scaling, priority, model, ...)
//   DELETE /v1/inference-components/{name}    delete (its copies drain)
//   GET    /v1/events[?subject=NAME&after=SEQ&limit=N]  (a component's subject includes its copies)
//   GET    /v1/devices
//
// Every write is validated (fields named in 4xx errors), stored durably (StateStore) before it
// is acknowledged, and recorded as an event. Memory reservations are checked against the
// measured need: omitted memory defaults to it; a declared reservation below it is refused
// with both numbers. Live state (copies, devices) comes from hooks, so this file does no I/O
// besides the store.
// Thread safety: Handle() may run on many connections at once (the store is thread-safe;
// the hooks must be too).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/component.h"
#include "net/http_server.h"
#include "store/state_store.h"

namespace cohost::control {

struct ControlHooks {
  // Milliseconds since the Unix epoch (event times). Required.
  std::function<int64_t()> now_ms;
  // The measured memory need of one copy, in MiB (a llama.cpp dry run). Empty: not checked.
  // Errors are reported against "model.uri".
  std::function<StatusOr<int64_t>(const InferenceComponent&)> measure_memory_mib;
  // The "status" object of a component (desired/ready copies, ...). Empty: {}.
  std::function<nlohmann::json(const std::string& component)> component_status;
  // GET /v1/devices body. Empty: {"devices": []}.
  std::function<nlohmann::json()> devices;
  // Called after every acknowledged change (to wake the reconciler). May be empty.
  std::function<void()> on_change;
  // Called after an acknowledged update that sets copies.initial (even to the value it had):
  // the user's explicit copy count, which the autoscaler takes as given. May be empty.
  std::function<void(const std::string& component, int copies)> on_copies_set;
  // Called after an acknowledged delete of a component, before the reply (e.g. to stop routing
  // to it at once, rather than at the next reconcile). May be empty.
  std::function<void(const std::string& component)> on_component_deleted;
  // Where the API's events go (control/event_log.h, which keeps what the store refuses) and the
  // events not written yet, which GET /v1/events lists after the stored ones. Empty: events are
  // appended to the store directly (a failure is logged) and none are pending.
  std::function<void(store::Event)> append_event;
  std::function<std::vector<store::Event>(const store::EventQuery&)> pending_events;
};

class ControlApi {
 public:
  // `store` must outlive the API.
  ControlApi(store::StateStore& store, ControlHooks hooks);

  // True when `target` is one of the control paths (so a server can route to this API).
  static bool Owns(std::string_view target);

  net::asio::awaitable<void> Handle(net::Exchange& ex);

  // The component specs as stored (for the reconciler and restarts).
  StatusOr<std::vector<InferenceComponent>> ListComponents();

 private:
  // Each returns the HTTP status and body, or an error; Handle() sends it.
  struct Reply {
    net::http::status status = net::http::status::ok;
    nlohmann::json body;
  };
  StatusOr<Reply> Route(net::http::verb method, std::string_view path, std::string_view query,
                        const std::string& body);
  StatusOr<Reply> CreateEndpoint(const std::string& body);
  StatusOr<Reply> DeleteEndpoint(const std::string& name);
  StatusOr<Reply> CreateComponent(const std::string& body);
  StatusOr<Reply> UpdateComponent(const std::string& name, const std::string& body);
  StatusOr<Reply> DeleteComponent(const std::string& name);
  StatusOr<Reply> DescribeComponent(const std::string& name);
  // `spec` with the live `status` object of component `name` added (from the hooks).
  nlohmann::json WithComponentStatus(const std::string& name, nlohmann::json spec) const;
  StatusOr<Reply> ListComponentsReply();
  StatusOr<Reply> ListEvents(std::string_view query);
  Status CheckMemory(InferenceComponent* c);
  void Record(std::string_view kind, const std::string& name, std::string_view reason,
              const std::string& message);

  store::StateStore& store_;
  const ControlHooks hooks_;
};

}  // namespace cohost::control
