#include "net/http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "net/descriptor_limit.h"
#include "net/read_deadline.h"

namespace cohost::net {
namespace {

using asio::use_awaitable;
using namespace std::chrono_literals;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool OutOfDescriptors(const boost::system::error_code& ec) {
  return ec.category() == boost::system::system_category() && (ec.value() == EMFILE || ec.value() == ENFILE);
}

// A whole 503 answer with Connection: close, written without waiting (a fresh socket's send
// buffer takes it) so that refusing a connection holds no descriptor or coroutine.
std::string RefusalResponse(std::string_view why) {
  std::string body = ErrorBody(why, "server_error", {}, "server_busy");
  return "HTTP/1.1 503 Service Unavailable\r\nServer: cohost\r\nContent-Type: application/json\r\n"
         "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

void RefuseFd(int fd, const std::string& response) {
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
}

int OpenReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool NeedsLength(const Request& req, const http::request_parser<http::string_body>& parser) {
  const http::verb m = req.method();
  if (m != http::verb::post && m != http::verb::put && m != http::verb::patch) return false;
  return !parser.content_length().has_value() && !parser.chunked();
}

}  // namespace

// One open connection, as the drain sees it. Fields are touched on the connection's strand only.
struct HttpServer::Connection {
  Socket* socket = nullptr;
  bool idle = false;              // waiting for the first byte of a request
  Exchange* exchange = nullptr;   // the request in a handler now
  bool alive = true;              // false once the connection's coroutine is done with it
};

HttpServer::HttpServer(const ServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)), acceptor_(ioc_) {}

HttpServer::~HttpServer() {
  Stop();
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  if (!is_tcp_) {
    std::error_code ec;
    std::filesystem::remove(options_.unix_socket, ec);
  }
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options, Handler handler) {
  std::unique_ptr<HttpServer> s(new HttpServer(options, std::move(handler)));
  boost::system::error_code ec;
  asio::generic::stream_protocol::endpoint ep;
  if (!options.unix_socket.empty()) {
    s->is_tcp_ = false;
    std::error_code fec;
    std::filesystem::remove(options.unix_socket, fec);
    ep = asio::local::stream_protocol::endpoint(options.unix_socket);
  } else {
    auto addr = asio::ip::make_address(options.host, ec);
    if (ec) return InvalidArgument("host", "'" + options.host + "' is not an IP address");
    if (options.port < 0 || options.port > 65535) return InvalidArgument("port", "must be 0..65535");
    ep = asio::ip::tcp::endpoint(addr, static_cast<uint16_t>(options.port));
  }
  s->acceptor_.open(ep.protocol(), ec);
  if (!ec && s->is_tcp_) s->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(ep, ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) s->acceptor_.native_non_blocking(true, ec);  // RefuseWithReserve() must not block
  if (ec) return Unavailable("cannot listen on " + s->address() + ": " + ec.message());
  if (s->is_tcp_) {
    auto local = s->acceptor_.local_endpoint();
    s->port_ = ntohs(reinterpret_cast<const sockaddr_in*>(local.data())->sin_port);
  }
  s->max_connections_ = EffectiveMaxConnections(options.limits, DescriptorLimit());
  s->reserve_fd_ = OpenReserve();
  return s;
}

std::string HttpServer::address() const {
  if (!is_tcp_) return "unix:" + options_.unix_socket;
  return options_.host + ":" + std::to_string(port_ ? port_ : options_.port);
}

void HttpServer::Run() {
  asio::co_spawn(ioc_, Accept(), asio::detached);
  std::vector<std::thread> extra;
  for (int i = 1; i < options_.threads; ++i) extra.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : extra) t.join();
}

void HttpServer::Stop() {
  asio::post(ioc_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  ioc_.stop();
}

void HttpServer::Shutdown() {
  if (draining_.exchange(true)) {
    log::Info("stopping now (second signal)");
    Stop();
    return;
  }
  asio::co_spawn(ioc_, Drain(), asio::detached);
}

void HttpServer::ForEachConnection(const std::function<void(Connection&)>& fn) {
  std::lock_guard<std::mutex> g(connections_mu_);
  for (const std::shared_ptr<Connection>& c : open_) {
    asio::post(c->socket->get_executor(), [c, fn] {
      if (c->alive) fn(*c);
    });
  }
}

asio::awaitable<void> HttpServer::Drain() {
  boost::system::error_code ec;
  acceptor_.close(ec);  // new connections are refused from here on
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(std::max(0.0, options_.limits.drain_timeout_s)));
  log::Info("draining", {{"in_flight", in_flight_.load()}, {"connections", connections_.load()},
                         {"drain_timeout_s", options_.limits.drain_timeout_s}});
  // Idle connections close now; one in a request closes after its answer (ServeRequests).
  ForEachConnection([](Connection& c) {
    boost::system::error_code ignored;
    if (c.idle) c.socket->cancel(ignored);
  });
  asio::steady_timer tick(ioc_);
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(20ms);
    co_await tick.async_wait(kNoThrow);
  }
  if (in_flight_.load() > 0) {
    log::Warn("drain deadline passed; ending open requests", {{"in_flight", in_flight_.load()}});
    ForEachConnection([](Connection& c) {
      if (c.exchange == nullptr) return;
      asio::co_spawn(c.socket->get_executor(),
                     c.exchange->EndForShutdown("the server is shutting down; the drain deadline passed"),
                     asio::detached);
    });
    const auto grace = std::chrono::steady_clock::now() + 2s;
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < grace) {
      tick.expires_after(20ms);
      co_await tick.async_wait(kNoThrow);
    }
  }
  log::Info("drained", {{"in_flight", in_flight_.load()}});
  Stop();
}

int HttpServer::RefuseWithReserve() {
  if (reserve_fd_ < 0) reserve_fd_ = OpenReserve();
  if (reserve_fd_ < 0) return 0;
  ::close(reserve_fd_);
  reserve_fd_ = -1;
  static const std::string response =
      RefusalResponse("the server is out of file descriptors; retry later");
  int refused = 0;
  // The freed descriptor takes one waiting connection at a time; 64 at most per round so that
  // the io thread stays responsive.
  for (; refused < 64; ++refused) {
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    RefuseFd(fd, response);
    ::close(fd);
  }
  reserve_fd_ = OpenReserve();  // may fail while another thread holds the freed slot: retried
  return refused;
}

asio::awaitable<void> HttpServer::Accept() {
  asio::steady_timer backoff(ioc_);
  auto delay = 10ms;
  int64_t failures = 0;  // accepts that failed in this burst
  int64_t refused = 0;   // connections answered 503 in this burst
  const std::string busy = RefusalResponse("the server is at its limit of " + std::to_string(max_connections_) +
                                           " connections; retry later");
  for (;;) {
    auto strand = asio::make_strand(ioc_);
    Socket socket(strand);
    auto [ec] = co_await acceptor_.async_accept(socket, kNoThrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors (or another failure that would repeat at once): one line per burst,
      // the waiting connections refused with the reserve descriptor, then a pause that grows,
      // so that the loop sleeps instead of spinning until connections close.
      if (failures++ == 0) {
        log::Warn("accept failed; refusing new connections until descriptors free up",
                  {{"error", ec.message()}, {"connections", connections_.load()}});
      }
      if (OutOfDescriptors(ec)) refused += RefuseWithReserve();
      backoff.expires_after(delay);
      co_await backoff.async_wait(kNoThrow);
      delay = std::min(delay * 2, std::chrono::milliseconds(500));
      continue;
    }
    if (connections_.load() >= max_connections_) {
      RefuseFd(socket.native_handle(), busy);
      socket.close(ec);
      if (refused++ == 0 && failures == 0) {
        log::Warn("connection limit reached; refusing new connections with 503",
                  {{"max_connections", max_connections_}});
      }
      continue;
    }
    if (failures > 0 || refused > 0) {
      log::Info("accepting connections again", {{"failed_accepts", failures}, {"refused", refused}});
      failures = 0;
      refused = 0;
      delay = 10ms;
    }
    if (reserve_fd_ < 0) reserve_fd_ = OpenReserve();
    if (is_tcp_) socket.set_option(asio::ip::tcp::no_delay(true), ec);
    connections_.fetch_add(1);
    asio::co_spawn(strand, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(Socket socket) {
  auto conn = std::make_shared<Connection>();
  conn->socket = &socket;
  {
    std::lock_guard<std::mutex> g(connections_mu_);
    open_.push_back(conn);
  }
  co_await ServeRequests(socket, *conn);
  conn->alive = false;
  {
    std::lock_guard<std::mutex> g(connections_mu_);
    open_.erase(std::find(open_.begin(), open_.end(), conn));
  }
  boost::system::error_code ec;
  socket.shutdown(asio::socket_base::shutdown_send, ec);
  socket.close(ec);
  connections_.fetch_sub(1);
}

asio::awaitable<void> HttpServer::ServeRequests(Socket& socket, Connection& conn) {
  const HttpLimits& limits = options_.limits;
  ReadDeadline<Socket> deadline(socket);
  boost::beast::flat_buffer buffer;
  for (;;) {
    if (draining_.load()) co_return;
    if (buffer.size() == 0) {
      // Idle until a request's first byte; a drain cancels this read (Drain()).
      conn.idle = true;
      deadline.Arm(limits.idle_timeout_s);
      auto [ec, n] = co_await socket.async_read_some(buffer.prepare(16 * 1024), kNoThrow);
      deadline.Disarm();
      conn.idle = false;
      if (ec || n == 0) co_return;  // closed, failed, idle too long, or draining: close quietly
      buffer.commit(n);
    }
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(64 * 1024);
    deadline.Arm(limits.header_timeout_s);
    auto [ec, n] = co_await http::async_read_header(socket, buffer, parser, kNoThrow);
    deadline.Disarm();
    bool timed_out = deadline.fired();
    const char* timed_out_part = "headers";
    bool needs_length = !ec && NeedsLength(parser.get(), parser);
    if (!ec && !needs_length && !parser.is_done()) {
      deadline.Arm(limits.body_timeout_s);
      std::tie(ec, n) = co_await http::async_read(socket, buffer, parser, kNoThrow);
      deadline.Disarm();
      timed_out = deadline.fired();
      timed_out_part = "body";
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        (ec == asio::error::operation_aborted && !timed_out)) {
      co_return;
    }
    if (ec || needs_length) {
      // Answer what can be answered, then close: the stream position is unknown.
      Request dummy;
      dummy.version(11);
      dummy.keep_alive(false);
      Exchange ex(socket, std::move(dummy));
      if (timed_out) {
        const double limit = std::string_view(timed_out_part) == "body" ? limits.body_timeout_s : limits.header_timeout_s;
        std::ostringstream s;
        s << "the request " << timed_out_part << " did not arrive within " << limit << " s";
        co_await ex.Respond(http::status::request_timeout,
                            ErrorBody(s.str(), "invalid_request_error", timed_out_part));
      } else if (needs_length) {
        co_await ex.Respond(http::status::length_required,
                            ErrorBody("a " + std::string(http::to_string(parser.get().method())) +
                                          " request needs a Content-Length header (or chunked "
                                          "Transfer-Encoding): without one its body's end is unknown",
                                      "invalid_request_error", "Content-Length"));
      } else if (ec == http::error::body_limit) {
        co_await ex.Respond(http::status::payload_too_large,
                            ErrorBody("request body is larger than the limit of " +
                                          std::to_string(options_.max_body_bytes) + " bytes",
                                      "invalid_request_error", "body"));
      } else {
        co_await ex.Respond(http::status::bad_request,
                            ErrorBody("malformed HTTP request: " + ec.message(), "invalid_request_error"));
      }
      co_return;
    }
    Exchange ex(socket, parser.release());
    if (draining_.load()) {
      const std::string_view why = "the server is shutting down";
      co_await ex.EndForShutdown(std::string(why));
      co_return;
    }
    conn.exchange = &ex;
    in_flight_.fetch_add(1);
    std::string failure;
    bool bad_utf8 = false;
    try {
      co_await handler_(ex);
    } catch (const nlohmann::json::type_error& e) {
      failure = e.what();  // co_await is not allowed in a handler; answer below
      bad_utf8 = e.id == 316;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    in_flight_.fetch_sub(1);
    conn.exchange = nullptr;
    if (!failure.empty()) {
      if (bad_utf8) {
        // The handler met invalid UTF-8 from the request while writing JSON: the client's fault.
        if (!ex.responded()) {
          co_await ex.Respond(http::status::bad_request,
                              ErrorBody("the request contains invalid UTF-8: " + failure,
                                        "invalid_request_error", "body"));
        }
        co_return;
      }
      log::Error("handler failed", {{"target", std::string(ex.request().target())}, {"error", failure}});
      if (!ex.responded()) {
        co_await ex.Respond(http::status::internal_server_error,
                            ErrorBody("internal error: " + failure, "server_error"));
      }
      co_return;
    }
    if (!ex.keep_alive()) co_return;
  }
}

}  // namespace cohost::net

namespace cohost::net {
http::status HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return http::status::ok;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnimplemented: return http::status::bad_request;
    case StatusCode::kNotFound: return http::status::not_found;
    case StatusCode::kAlreadyExists: return http::status::conflict;
    case StatusCode::kFailedPrecondition: return http::status::conflict;
    case StatusCode::kPayloadTooLarge: return http::status::payload_too_large;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable: return http::status::service_unavailable;
    case StatusCode::kDeadlineExceeded: return http::status::gateway_timeout;
    default: return http::status::internal_server_error;
  }
}
}  // namespace cohost::net
