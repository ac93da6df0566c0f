// HttpServer: an HTTP/1.1 server on Boost.Beast with C++20 coroutines, over TCP or a Unix socket.
//
// Each connection is one coroutine on its own strand, so thousands of idle or streaming clients
// need no thread each. A handler is a coroutine that answers one Exchange: a whole response, or a
// Server-Sent Events stream written as chunks. Requests larger than the body limit are answered
// 413 without reading the body; malformed requests get 400; a POST, PUT or PATCH with neither
// Content-Length nor chunked encoding gets 411 (the body's end would be unknown); a handler
// that throws gets 500 (400 when it threw on invalid UTF-8 in the request).
//
// Hostile clients (HttpLimits): reading a request's headers and its body each have a deadline
// (408 and close past it), an idle connection is closed after its own; connections past the
// cap, or arriving while the process is out of descriptors, get 503 and are closed at once
// (a reserve descriptor makes that answer possible), and accepting backs off instead of
// spinning. Responses are never bounded in time.
//
// Shutdown(): stops accepting, lets in-flight requests finish until the drain deadline, then
// ends open event streams with an error event and [DONE] (503 for requests not yet answered),
// and stops.
//
// Threads: Run() drives the io_context on `threads` threads and returns after Stop().
// Stop() and Shutdown() may be called from any thread (or a signal handler thread).
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "net/http_limits.h"

namespace cohost::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Socket = asio::generic::stream_protocol::socket;
using Request = http::request<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Formats an error body: {"error": {"message", "type", "param", "code"}} (OpenAI's shape).
std::string ErrorBody(std::string_view message, std::string_view type, std::string_view param = {},
                      std::string_view code = {});

// One request and its response. Not thread-safe: used by the connection's coroutine only.
class Exchange {
 public:
  Exchange(Socket& socket, Request request) : socket_(socket), request_(std::move(request)) {}

  const Request& request() const { return request_; }
  asio::any_io_executor executor() { return socket_.get_executor(); }
  bool responded() const { return responded_; }

  // Sends a whole response. Never throws for a client that has gone away.
  asio::awaitable<void> Respond(http::status status, std::string body,
                                std::string_view content_type = "application/json",
                                const Headers& extra = {});
  // Sends an error response with ErrorBody().
  asio::awaitable<void> RespondError(http::status status, const Status& error,
                                     const Headers& extra = {});

  // Server-Sent Events: StartEventStream() sends the headers; SendEvent() one "data:" event.
  // Both return false once the client is gone.
  asio::awaitable<bool> StartEventStream();
  asio::awaitable<bool> SendEvent(std::string_view data);
  asio::awaitable<void> EndEventStream();

  // A raw chunked response, for relaying a body that arrives in pieces (the router forwarding a
  // runner's stream). StartChunked() sends the headers; SendChunk() sends `raw` as one chunk (an
  // empty piece sends nothing). Both return false once the client is gone. EndChunked() sends
  // the last chunk; with complete = false it sends nothing and closes the connection after the
  // handler returns, so the client sees a truncated body rather than a clean end.
  asio::awaitable<bool> StartChunked(http::status status, std::string_view content_type,
                                     const Headers& extra = {});
  asio::awaitable<bool> SendChunk(std::string_view raw);
  asio::awaitable<void> EndChunked(bool complete = true);

  // Runs `work` until it finishes or the client closes its end of the connection, whichever
  // comes first; a disconnect cancels the work (terminal cancellation of whatever it awaits).
  // Returns the work's result, or nullopt (false for void work) when the client went away, in
  // which case whatever the cancelled work threw is dropped. Exceptions of work that was not
  // cancelled propagate. A client that sends more bytes instead (a pipelined request) is not a
  // disconnect. The work runs on this exchange's executor, in a coroutine of its own.
  //
  // Cheaper than racing the work against a wait with `||`: one coroutine and one peeking
  // receive, no parallel group, no epoll_ctl, no exception when the work wins (≈ 40 µs of CPU
  // per request less on a 2-core VM).
  template <typename T>
  asio::awaitable<std::optional<T>> UnlessDisconnected(asio::awaitable<T> work);
  asio::awaitable<bool> UnlessDisconnected(asio::awaitable<void> work);

  bool keep_alive() const { return keep_alive_; }

  // Ends this exchange on the server's behalf (the drain deadline passed): an open event stream
  // gets an error event (after a blank line that closes a half-written one) and "data: [DONE]",
  // then its last chunk; an exchange not yet answered gets 503; another chunked body is cut.
  // The handler's later writes are dropped and report the client gone. While the handler is
  // writing a chunk, the end is written right after it. Runs on the connection's strand.
  asio::awaitable<void> EndForShutdown(std::string message);

 private:
  // The state UnlessDisconnected shares with its peeking receive's handler.
  struct DisconnectWatch {
    asio::cancellation_signal signal;  // cancels the work
    bool finished = false;             // the work is done: a later end of stream cancels nothing
    bool gone = false;                 // the client went away first
    char byte = 0;
  };
  std::shared_ptr<DisconnectWatch> StartDisconnectWatch();
  void StopDisconnectWatch(DisconnectWatch& watch);
  // Writes one chunk of the body, keeping the end of the body for EndForShutdown().
  asio::awaitable<bool> WriteChunk(std::string_view raw);
  asio::awaitable<void> WriteShutdownEnd();

  Socket& socket_;
  Request request_;
  bool responded_ = false;
  bool keep_alive_ = true;
  bool event_stream_ = false;     // a chunked text/event-stream response has started
  bool body_ended_ = false;       // the last chunk was sent, or the body was cut
  bool writing_ = false;          // a chunk write is in progress
  bool closed_by_server_ = false; // EndForShutdown() took over: the handler's writes are dropped
  std::string shutdown_message_;  // set while an EndForShutdown() waits for a write to finish
  std::string body_tail_;         // the body's last two bytes
};

template <typename T>
asio::awaitable<std::optional<T>> Exchange::UnlessDisconnected(asio::awaitable<T> work) {
  std::shared_ptr<DisconnectWatch> watch = StartDisconnectWatch();
  auto [error, value] = co_await asio::co_spawn(
      socket_.get_executor(), std::move(work),
      asio::bind_cancellation_slot(watch->signal.slot(), asio::as_tuple(asio::use_awaitable)));
  StopDisconnectWatch(*watch);
  if (watch->gone) co_return std::nullopt;
  if (error) std::rethrow_exception(error);
  co_return std::optional<T>(std::move(value));
}

using Handler = std::function<asio::awaitable<void>(Exchange&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";  // TCP address to listen on
  int port = 0;                    // 0 picks a free port (see HttpServer::port())
  std::string unix_socket;         // when set, listen here instead of TCP
  size_t max_body_bytes = 1 << 20; // larger request bodies get 413
  int threads = 1;                 // io threads
  HttpLimits limits;               // connections, read deadlines, drain deadline
};

class HttpServer {
 public:
  // Binds and listens. Errors: kUnavailable when the address cannot be bound (named).
  static StatusOr<std::unique_ptr<HttpServer>> Create(const ServerOptions& options, Handler handler);
  ~HttpServer();

  // The bound TCP port (0 for a Unix socket).
  int port() const { return port_; }
  std::string address() const;
  asio::io_context& io_context() { return ioc_; }

  // Accepts and serves until Stop(). Blocks the calling thread (plus threads-1 more).
  void Run();
  // Stops at once: open connections are dropped where they are.
  void Stop();
  // Graceful stop: closes the listening socket (new connections are refused), answers requests
  // arriving on open connections 503 and closes idle ones, lets in-flight requests run until
  // limits.drain_timeout_s, ends what is still open (Exchange::EndForShutdown), waits up to
  // 2 s for those handlers to return, then Stop(). A second call stops at once.
  void Shutdown();

  // Connections open now, and requests in a handler now. Any thread.
  int open_connections() const { return connections_.load(); }
  int in_flight() const { return in_flight_.load(); }

 private:
  struct Connection;
  HttpServer(const ServerOptions& options, Handler handler);
  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(Socket socket);
  asio::awaitable<void> ServeRequests(Socket& socket, Connection& conn);
  asio::awaitable<void> Drain();
  // Accepts what waits in the backlog with the reserve descriptor, answering each 503. Returns
  // how many it refused.
  int RefuseWithReserve();
  // Runs `fn` on the strand of every open connection.
  void ForEachConnection(const std::function<void(Connection&)>& fn);

  ServerOptions options_;
  Handler handler_;
  asio::io_context ioc_;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  int port_ = 0;
  bool is_tcp_ = true;
  int max_connections_ = 0;  // constant after Create()
  int reserve_fd_ = -1;      // used by the accepting coroutine only
  std::atomic<int> connections_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::mutex connections_mu_;
  std::vector<std::shared_ptr<Connection>> open_;  // guarded by connections_mu_
};

}  // namespace cohost::net

namespace cohost::net {
// The HTTP status for an error: 400 invalid/unimplemented, 404 not found, 409 exists,
// 413 too large, 503 exhausted/unavailable, 504 deadline, 500 otherwise.
http::status HttpStatusFor(const Status& status);
}  // namespace cohost::net
