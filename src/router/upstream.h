// Upstream: the router's side of one copy — its request counters and a pool of idle keep-alive
// connections to its runner — and the asynchronous connect used to open new ones.
//
// Thread safety: counters are atomics; the pool is guarded by its mutex; any thread may call
// Take()/Give(). A Connection is used by one coroutine at a time (whoever took it).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "net/http_server.h"

namespace cohost::router {

// One connection to a runner, with the bytes read past the last response.
struct Connection {
  explicit Connection(net::asio::any_io_executor executor) : socket(std::move(executor)) {}
  net::Socket socket;
  boost::beast::flat_buffer buffer;
};

// Opens a connection to `address` (TCP or Unix socket) on `executor`. Returns nullptr and sets
// *error on failure.
net::asio::awaitable<std::unique_ptr<Connection>> Connect(net::asio::any_io_executor executor,
                                                          const net::Address& address,
                                                          std::string* error);

class Upstream {
 public:
  Upstream(std::string id, net::Address address, size_t max_idle)
      : id_(std::move(id)), address_(std::move(address)), max_idle_(max_idle) {}

  const std::string& id() const { return id_; }
  const net::Address& address() const { return address_; }

  // An idle connection, or nullptr when none is pooled.
  std::unique_ptr<Connection> Take();
  // Pools a connection that finished a response cleanly (closes it when the pool is full, or
  // after Close()).
  void Give(std::unique_ptr<Connection> connection);
  // Closes the idle connections and pools none from now on. Connections are sockets of an
  // io_context and must be destroyed while it is alive: the router calls this when that
  // io_context shuts down (CloseOnShutdown) or when the copy goes away.
  void Close();

  std::atomic<int64_t> outstanding{0};
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> failures{0};

 private:
  // Constant after construction.
  const std::string id_;
  const net::Address address_;
  const size_t max_idle_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  bool closed_ = false;                            // guarded by mu_
};

// Every copy's Upstream, shared by the router and the shutdown hook of the io_context its
// connections belong to.
struct UpstreamTable {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Upstream>, std::less<>> upstreams;  // guarded by mu
};

// Closes every Upstream of `table` (if it still exists) when `context` shuts down, before its
// reactor goes: pooled sockets then never outlive their io_context, whatever the order in which
// the router and the server are destroyed. Call once per io_context and table.
void CloseOnShutdown(net::asio::execution_context& context, std::weak_ptr<UpstreamTable> table);

// Holds a connection for one request; pools it on destruction only if MarkReusable() was called
// (a response read to its end on a keep-alive connection). Otherwise the connection closes,
// which is how a cancelled or failed request tells the runner to stop.
class ConnectionLease {
 public:
  ConnectionLease(Upstream& upstream, std::unique_ptr<Connection> connection)
      : upstream_(upstream), connection_(std::move(connection)) {}
  ~ConnectionLease() {
    if (reusable_) upstream_.Give(std::move(connection_));
  }
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;

  Connection& connection() { return *connection_; }
  void MarkReusable() { reusable_ = true; }

 private:
  Upstream& upstream_;
  std::unique_ptr<Connection> connection_;
  bool reusable_ = false;
};

// Counts a request as outstanding on a copy for the guard's lifetime (decremented on every
// path out, cancellation included).
class OutstandingGuard {
 public:
  explicit OutstandingGuard(Upstream& upstream) : upstream_(upstream) {
    upstream_.outstanding.fetch_add(1, std::memory_order_relaxed);
    upstream_.requests.fetch_add(1, std::memory_order_relaxed);
  }
  ~OutstandingGuard() { upstream_.outstanding.fetch_sub(1, std::memory_order_relaxed); }
  OutstandingGuard(const OutstandingGuard&) = delete;
  OutstandingGuard& operator=(const OutstandingGuard&) = delete;

 private:
  Upstream& upstream_;
};

}  // namespace cohost::router
