#include "router/upstream.h"

namespace cohost::router {

namespace asio = net::asio;

asio::awaitable<std::unique_ptr<Connection>> Connect(asio::any_io_executor executor,
                                                     const net::Address& address,
                                                     std::string* error) {
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
  asio::generic::stream_protocol::endpoint endpoint;
  boost::system::error_code ec;
  bool tcp = address.unix_socket.empty();
  if (!tcp) {
    endpoint = asio::local::stream_protocol::endpoint(address.unix_socket);
  } else {
    asio::ip::address ip = asio::ip::make_address(address.host, ec);
    if (ec) {
      asio::ip::tcp::resolver resolver(executor);
      auto [rec, results] = co_await resolver.async_resolve(
          address.host, std::to_string(address.port), kNoThrow);
      if (rec || results.empty()) {
        *error = "cannot resolve " + address.ToString() + ": " + rec.message();
        co_return nullptr;
      }
      endpoint = results.begin()->endpoint();
    } else {
      endpoint = asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(address.port));
    }
  }
  auto c = std::make_unique<Connection>(executor);
  c->socket.open(endpoint.protocol(), ec);
  if (!ec) std::tie(ec) = co_await c->socket.async_connect(endpoint, kNoThrow);
  if (ec) {
    *error = "cannot connect to " + address.ToString() + ": " + ec.message();
    co_return nullptr;
  }
  if (tcp) c->socket.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return c;
}

std::unique_ptr<Connection> Upstream::Take() {
  std::lock_guard<std::mutex> l(mu_);
  if (idle_.empty()) return nullptr;
  std::unique_ptr<Connection> c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void Upstream::Give(std::unique_ptr<Connection> connection) {
  std::lock_guard<std::mutex> l(mu_);
  if (!closed_ && idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

void Upstream::Close() {
  std::vector<std::unique_ptr<Connection>> idle;
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    idle.swap(idle_);
  }
}  // the sockets close here, outside the lock

namespace {

// An io_context service whose shutdown (the first step of the io_context's destruction, in
// reverse order of registration, so before the reactor's) closes the registered tables.
class PoolCloser : public asio::execution_context::service {
 public:
  using key_type = PoolCloser;
  static inline asio::execution_context::id id;

  explicit PoolCloser(asio::execution_context& context) : asio::execution_context::service(context) {}

  void Add(std::weak_ptr<UpstreamTable> table) {
    std::lock_guard<std::mutex> l(mu_);
    tables_.push_back(std::move(table));
  }

 private:
  void shutdown() override {
    std::vector<std::weak_ptr<UpstreamTable>> tables;
    {
      std::lock_guard<std::mutex> l(mu_);
      tables.swap(tables_);
    }
    for (auto& weak : tables) {
      std::shared_ptr<UpstreamTable> table = weak.lock();
      if (table == nullptr) continue;  // the router is gone, and its connections with it
      std::vector<std::shared_ptr<Upstream>> ups;
      {
        std::lock_guard<std::mutex> l(table->mu);
        for (auto& [id, up] : table->upstreams) ups.push_back(up);
      }
      for (auto& up : ups) up->Close();
    }
  }

  std::mutex mu_;
  std::vector<std::weak_ptr<UpstreamTable>> tables_;  // guarded by mu_
};

}  // namespace

void CloseOnShutdown(asio::execution_context& context, std::weak_ptr<UpstreamTable> table) {
  asio::use_service<PoolCloser>(context).Add(std::move(table));
}

}  // namespace cohost::router
