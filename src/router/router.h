// Router: the OpenAI-compatible front door. `model` names a component; each request goes to one
// of its ready copies (a runner), chosen by the component's routing strategy, and the runner's
// answer is relayed unchanged (a whole body, or a stream relayed chunk by chunk as it arrives).
//
// Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models (components and their
// states), GET /healthz. Errors:
//   400 a body without a valid "model" or "stream" (param names the field)
//   404 an unknown model; the message lists the available ones (code "model_not_found"); a
//       component deleted while its request was held (at once, when it leaves the directory)
//   503 + Retry-After: no ready copy and the component holds no requests (max_held 0), none is
//       coming because a copy fits on none of the node's devices even when they are empty
//       (ComponentRoute::unplaced; also ends a hold), its copies failed and no more are started
//       (ComponentRoute::failed, with their last error; also ends a hold), its
//       hold queue is full, a held request waited past the hold timeout, or every ready copy
//       failed before answering.
// Cold start: a request for a component with no ready copy is held (HoldQueue, bounded per
// component) until a copy is ready, then forwarded; holding calls `on_hold` so the autoscaler
// scales the component from zero at once.
// Retries: a copy that fails before any byte reached the client (connect, write, or the response
// head; for a non-streaming request, anything before the whole response) is retried on another
// ready copy, each copy at most once. After the first byte a failure ends the response
// (truncated). A client that disconnects cancels the upstream request: the router closes that
// connection to the runner, and the runner frees the slot.
//
// Connections to runners are asynchronous (Beast on the caller's executor) and kept alive in a
// small pool per copy, so a request usually costs no connect.
//
// Thread safety: Handle() may run concurrently on any number of io threads. Counters() may be
// called from any thread. The directory must outlive the router.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_server.h"
#include "core/metrics.h"
#include "router/copy_directory.h"
#include "router/hold_queue.h"

namespace cohost::router {

class Upstream;  // upstream.h: per-copy counters and idle connections
struct UpstreamTable;

struct RouterOptions {
  // Retry-After (seconds) when a component has no ready copy but copies are loading.
  int retry_after_loading_s = 1;
  // Retry-After (seconds) when a component has no ready copy and none is coming, or when every
  // ready copy failed.
  int retry_after_unavailable_s = 10;
  // Idle keep-alive connections kept per copy.
  size_t max_idle_connections_per_copy = 32;
  // Seeds the draws for random choice (logged by the caller for reproducibility).
  uint64_t seed = 0;
  // Where request metrics go (core/metric_names.h); null: none. Must outlive the router.
  MetricsRegistry* metrics = nullptr;
  // Called (on an io thread) when a request starts being held for `component`; must not block.
  std::function<void(const std::string& component)> on_hold;
  // How often a held request looks for a ready copy.
  std::chrono::milliseconds hold_poll{5};
};

// Counts per copy, for metrics and tests.
struct CopyCounters {
  std::string id;
  int64_t outstanding = 0;  // requests in flight now
  int64_t requests = 0;     // requests sent to it (attempts, retries included)
  int64_t failures = 0;     // attempts that failed before the first byte
};

class Router {
 public:
  Router(std::shared_ptr<const CopyDirectory> directory, RouterOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Answers one exchange. Never throws for upstream or client failures.
  net::asio::awaitable<void> Handle(net::Exchange& ex);

  // Counters of every copy the router has sent requests to, sorted by id.
  std::vector<CopyCounters> Counters() const;

  // Forgets copies that are no longer ready in the directory, closing their idle pooled
  // connections (requests in flight keep theirs until they end). Call when copies change, so a
  // pooled socket never outlives its copy. Any thread.
  void CloseIdleConnections();

 private:
  net::asio::awaitable<void> HandleInference(net::Exchange& ex);
  net::asio::awaitable<void> HandleModels(net::Exchange& ex);
  net::asio::awaitable<void> Route(net::Exchange& ex, const std::string& model, bool stream);
  // Waits for a ready copy of a component that has none. Returns its route, or nullptr after
  // answering the client (404, hold queue full, timeout).
  net::asio::awaitable<std::shared_ptr<const ComponentRoute>> Hold(
      net::Exchange& ex, const std::string& model, std::shared_ptr<const ComponentRoute> route);
  void CountOutcome(const std::string& model, const char* outcome);
  // The upstream of each ready copy, in the route's order (created on first use).
  std::vector<std::shared_ptr<Upstream>> UpstreamsFor(const ComponentRoute& route);
  uint64_t Draw();

  // Constant after construction.
  const std::shared_ptr<const CopyDirectory> directory_;
  const RouterOptions options_;
  const int64_t started_unix_;

  HoldQueue holds_;
  std::atomic<uint64_t> draws_{0};
  // The upstreams of the copies, shared with the io_context's shutdown hook (upstream.h).
  const std::shared_ptr<UpstreamTable> table_;
  std::atomic<bool> hooked_{false};  // CloseOnShutdown registered (with the first io_context)
};

}  // namespace cohost::router
