// CopyDirectory: what the router knows about components and their copies.
//
// The router reads it on every request; the control plane (or a test) writes it. A component
// maps to a snapshot of its routable state: the ready copies with their addresses, how many more
// are on their way (pending or loading), and the copy-choice strategy of its endpoint.
//
// Thread safety: every method of a CopyDirectory may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.h"
#include "policy/routing.h"

namespace cohost::router {

// One ready copy: a runner the router may send requests to.
struct CopyEndpoint {
  std::string id;         // unique across the directory (the router keys its counters by it)
  net::Address address;   // TCP host:port or a Unix socket
};

// A component's routable state at one moment. Immutable once published.
struct ComponentRoute {
  std::vector<CopyEndpoint> ready;  // copies that answer requests now
  int coming = 0;                   // copies pending or loading (a request may retry later)
  policy::RoutingStrategy strategy = policy::RoutingStrategy::kLeastOutstanding;
  // With no ready copy, up to `max_held` requests wait (held) up to `hold_timeout` for one to
  // become ready (scaling.max_held_requests / hold_timeout_s). 0: answer 503 at once.
  int max_held = 0;
  std::chrono::milliseconds hold_timeout{0};
  // Set when no copy is ready or coming and a wanted copy would not fit on the node even with
  // nothing else on it: why. Requests are then answered 503 at once rather than held.
  std::string unplaced;
  // Set when no copy is ready or coming because the component's copies failed (a crash loop, a
  // load failure) and no more are started until its spec changes: why, with their last error.
  // Requests are then answered 503 at once rather than held.
  std::string failed;
};

// A component as GET /v1/models shows it.
struct ComponentSummary {
  std::string name;
  int ready_copies = 0;
  int coming_copies = 0;
  // "ready" (some copy serves), "loading" (none serves yet, some are coming) or "stopped".
  std::string state() const;
};

class CopyDirectory {
 public:
  virtual ~CopyDirectory() = default;
  // The component's current route, or nullptr when no component has that name. The snapshot
  // stays valid (and unchanged) for as long as the caller holds it.
  virtual std::shared_ptr<const ComponentRoute> Find(std::string_view component) const = 0;
  // Every component, sorted by name.
  virtual std::vector<ComponentSummary> List() const = 0;
};

// An in-memory directory: tests fill it directly; the control plane publishes into it.
class StaticCopyDirectory : public CopyDirectory {
 public:
  // Adds or replaces a component's route.
  void Set(const std::string& component, ComponentRoute route);
  // Removes a component; unknown names are ignored.
  void Remove(const std::string& component);

  std::shared_ptr<const ComponentRoute> Find(std::string_view component) const override;
  std::vector<ComponentSummary> List() const override;

 private:
  mutable std::mutex mu_;
  // Protected by mu_. The routes themselves are immutable and shared with readers.
  std::map<std::string, std::shared_ptr<const ComponentRoute>, std::less<>> routes_;
};

}  // namespace cohost::router
