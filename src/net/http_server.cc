#include "net/http_server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "core/log.h"

namespace cohost::net {
namespace {

using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool ClientGone(const boost::system::error_code& ec) { return static_cast<bool>(ec); }

}  // namespace

std::string ErrorBody(std::string_view message, std::string_view type, std::string_view param,
                      std::string_view code) {
  nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return nlohmann::json({{"error", e}}).dump();
}

asio::awaitable<void> Exchange::Respond(http::status status, std::string body,
                                        std::string_view content_type, const Headers& extra) {
  http::response<http::string_body> res{status, request_.version()};
  res.set(http::field::server, "cohost");
  res.set(http::field::content_type, content_type);
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(request_.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  responded_ = true;
  keep_alive_ = res.keep_alive();
  auto [ec, n] = co_await http::async_write(socket_, res, kNoThrow);
  if (ec) keep_alive_ = false;
}

asio::awaitable<void> Exchange::RespondError(http::status status, const Status& error,
                                             const Headers& extra) {
  std::string type = static_cast<int>(status) >= 500 ? "server_error" : "invalid_request_error";
  if (error.code() == StatusCode::kNotFound) type = "not_found_error";
  std::string code;
  if (error.code() == StatusCode::kNotFound && error.field() == "model") code = "model_not_found";
  // A chat prompt is named "messages"; over the context it gets the same code as a completion's.
  if (error.message().find("context") != std::string::npos &&
      (error.field() == "prompt" || error.field() == "messages"))
    code = "context_length_exceeded";
  co_await Respond(status, ErrorBody(error.message(), type, error.field(), code),
                   "application/json", extra);
}

asio::awaitable<bool> Exchange::StartEventStream() {
  // Locals, not literals, as coroutine arguments: GCC 12 miscompiles some temporaries there.
  const std::string_view content_type = "text/event-stream";
  const Headers headers(1, {"Cache-Control", "no-cache"});
  co_return co_await StartChunked(http::status::ok, content_type, headers);
}

asio::awaitable<bool> Exchange::SendEvent(std::string_view data) {
  std::string frame = "data: ";
  frame.append(data);
  frame.append("\n\n");
  co_return co_await SendChunk(frame);
}

asio::awaitable<void> Exchange::EndEventStream() { co_await EndChunked(true); }

asio::awaitable<bool> Exchange::StartChunked(http::status status, std::string_view content_type,
                                             const Headers& extra) {
  http::response<http::empty_body> res{status, request_.version()};
  res.set(http::field::server, "cohost");
  res.set(http::field::content_type, content_type);
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(request_.keep_alive());
  res.chunked(true);
  responded_ = true;
  keep_alive_ = res.keep_alive();
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, n] = co_await http::async_write_header(socket_, sr, kNoThrow);
  if (ec) keep_alive_ = false;
  co_return !ClientGone(ec);
}

asio::awaitable<bool> Exchange::SendChunk(std::string_view raw) {
  if (raw.empty()) co_return true;
  auto [ec, n] = co_await asio::async_write(socket_, http::make_chunk(asio::buffer(raw.data(), raw.size())),
                                            kNoThrow);
  if (ec) keep_alive_ = false;
  co_return !ClientGone(ec);
}

asio::awaitable<void> Exchange::EndChunked(bool complete) {
  if (!complete) {
    keep_alive_ = false;
    co_return;
  }
  auto [ec, n] = co_await asio::async_write(socket_, http::make_chunk_last(), kNoThrow);
  if (ec) keep_alive_ = false;
}

std::shared_ptr<Exchange::DisconnectWatch> Exchange::StartDisconnectWatch() {
  auto watch = std::make_shared<DisconnectWatch>();
  // A peeking receive rather than async_wait: Asio tries a receive at once (one recv that says
  // EAGAIN) and leaves the socket's epoll registration alone, while every async_wait re-arms it
  // with epoll_ctl, which on a writable socket also raises a spurious event. The handler runs
  // on the socket's executor (the connection's strand), as does the work it cancels.
  socket_.async_receive(asio::buffer(&watch->byte, 1), asio::socket_base::message_peek,
                        [watch, this](const boost::system::error_code& ec, size_t n) {
                          if (watch->finished || ec == asio::error::operation_aborted) return;
                          if (!ec && n > 0) return;  // more bytes (pipelined): not a disconnect
                          watch->gone = true;        // end of stream, or the connection failed
                          keep_alive_ = false;
                          watch->signal.emit(asio::cancellation_type::terminal);
                        });
  return watch;
}

void Exchange::StopDisconnectWatch(DisconnectWatch& watch) {
  watch.finished = true;
  // Only the peeking receive is outstanding on the socket here: the work has finished.
  boost::system::error_code ec;
  socket_.cancel(ec);
}

asio::awaitable<bool> Exchange::UnlessDisconnected(asio::awaitable<void> work) {
  std::shared_ptr<DisconnectWatch> watch = StartDisconnectWatch();
  auto [error] = co_await asio::co_spawn(
      socket_.get_executor(), std::move(work),
      asio::bind_cancellation_slot(watch->signal.slot(), asio::as_tuple(asio::use_awaitable)));
  StopDisconnectWatch(*watch);
  if (watch->gone) co_return false;
  if (error) std::rethrow_exception(error);
  co_return true;
}

HttpServer::HttpServer(const ServerOptions& options, Handler handler)
    : options_(options), handler_(std::move(handler)), acceptor_(ioc_) {}

HttpServer::~HttpServer() {
  Stop();
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
  if (ec) return Unavailable("cannot listen on " + s->address() + ": " + ec.message());
  if (s->is_tcp_) {
    auto local = s->acceptor_.local_endpoint();
    s->port_ = ntohs(reinterpret_cast<const sockaddr_in*>(local.data())->sin_port);
  }
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

asio::awaitable<void> HttpServer::Accept() {
  for (;;) {
    auto strand = asio::make_strand(ioc_);
    Socket socket(strand);
    auto [ec] = co_await acceptor_.async_accept(socket, kNoThrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      log::Warn("accept failed", {{"error", ec.message()}});
      continue;
    }
    if (is_tcp_) socket.set_option(asio::ip::tcp::no_delay(true), ec);
    asio::co_spawn(strand, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(Socket socket) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(options_.max_body_bytes);
    parser.header_limit(64 * 1024);
    auto [ec, n] = co_await http::async_read(socket, buffer, parser, kNoThrow);
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      // Answer what can be answered, then close: the stream position is unknown.
      Request dummy;
      dummy.version(11);
      Exchange ex(socket, std::move(dummy));
      if (ec == http::error::body_limit) {
        co_await ex.Respond(http::status::payload_too_large,
                            ErrorBody("request body is larger than the limit of " +
                                          std::to_string(options_.max_body_bytes) + " bytes",
                                      "invalid_request_error", "body"));
      } else {
        co_await ex.Respond(http::status::bad_request,
                            ErrorBody("malformed HTTP request: " + ec.message(), "invalid_request_error"));
      }
      break;
    }
    Exchange ex(socket, parser.release());
    std::string failure;
    try {
      co_await handler_(ex);
    } catch (const std::exception& e) {
      failure = e.what();  // co_await is not allowed in a handler; answer below
    }
    if (!failure.empty()) {
      log::Error("handler failed", {{"target", std::string(ex.request().target())}, {"error", failure}});
      if (!ex.responded()) {
        co_await ex.Respond(http::status::internal_server_error,
                            ErrorBody("internal error: " + failure, "server_error"));
      }
      break;
    }
    if (!ex.keep_alive()) break;
  }
  boost::system::error_code ec;
  socket.shutdown(asio::socket_base::shutdown_send, ec);
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
