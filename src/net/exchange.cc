// Exchange: one request and its response (declared in net/http_server.h).
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>

#include "net/http_server.h"

namespace cohost::net {
namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool ClientGone(const boost::system::error_code& ec) { return static_cast<bool>(ec); }

}  // namespace

std::string ErrorBody(std::string_view message, std::string_view type, std::string_view param,
                      std::string_view code) {
  nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  // A message may quote what the client sent; invalid UTF-8 there must not fail the answer.
  return nlohmann::json({{"error", e}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

asio::awaitable<void> Exchange::Respond(http::status status, std::string body,
                                        std::string_view content_type, const Headers& extra) {
  if (closed_by_server_) co_return;
  http::response<http::string_body> res{status, request_.version()};
  res.set(http::field::server, "cohost");
  res.set(http::field::content_type, content_type);
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(request_.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  responded_ = true;
  body_ended_ = true;
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
  if (closed_by_server_) co_return false;
  http::response<http::empty_body> res{status, request_.version()};
  res.set(http::field::server, "cohost");
  res.set(http::field::content_type, content_type);
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(request_.keep_alive());
  res.chunked(true);
  responded_ = true;
  event_stream_ = content_type.starts_with("text/event-stream");
  keep_alive_ = res.keep_alive();
  http::response_serializer<http::empty_body> sr{res};
  writing_ = true;
  auto [ec, n] = co_await http::async_write_header(socket_, sr, kNoThrow);
  writing_ = false;
  if (ec) keep_alive_ = false;
  if (!shutdown_message_.empty()) co_await WriteShutdownEnd();
  co_return !ClientGone(ec) && !closed_by_server_;
}

asio::awaitable<bool> Exchange::SendChunk(std::string_view raw) {
  if (closed_by_server_) co_return false;
  if (raw.empty()) co_return true;
  bool ok = co_await WriteChunk(raw);
  if (!shutdown_message_.empty()) co_await WriteShutdownEnd();
  co_return ok && !closed_by_server_;
}

asio::awaitable<bool> Exchange::WriteChunk(std::string_view raw) {
  writing_ = true;
  auto [ec, n] = co_await asio::async_write(socket_, http::make_chunk(asio::buffer(raw.data(), raw.size())),
                                            kNoThrow);
  writing_ = false;
  if (ec) keep_alive_ = false;
  body_tail_.append(raw.substr(raw.size() >= 2 ? raw.size() - 2 : 0));
  if (body_tail_.size() > 2) body_tail_.erase(0, body_tail_.size() - 2);
  co_return !ClientGone(ec);
}

asio::awaitable<void> Exchange::EndChunked(bool complete) {
  if (closed_by_server_) co_return;
  body_ended_ = true;
  if (!complete) {
    keep_alive_ = false;
    co_return;
  }
  writing_ = true;
  auto [ec, n] = co_await asio::async_write(socket_, http::make_chunk_last(), kNoThrow);
  writing_ = false;
  if (ec) keep_alive_ = false;
}

asio::awaitable<void> Exchange::EndForShutdown(std::string message) {
  if (closed_by_server_ || (responded_ && body_ended_)) co_return;
  if (!responded_) {
    // Nothing sent yet: a whole answer. The handler's own answer, if it comes, is dropped.
    const std::string body = ErrorBody(message, "server_error", {}, "server_shutting_down");
    Headers extra(1, {"Retry-After", "1"});
    request_.keep_alive(false);
    co_await Respond(http::status::service_unavailable, body, "application/json", extra);
    closed_by_server_ = true;
    co_return;
  }
  shutdown_message_ = std::move(message);
  if (!writing_) co_await WriteShutdownEnd();  // else the handler's write finishes with it
}

asio::awaitable<void> Exchange::WriteShutdownEnd() {
  std::string message = std::move(shutdown_message_);
  shutdown_message_.clear();
  closed_by_server_ = true;
  keep_alive_ = false;
  if (body_ended_) co_return;
  body_ended_ = true;
  if (!event_stream_) co_return;  // a chunked body of another kind: cut (no last chunk)
  std::string frame = body_tail_ == "\n\n" || body_tail_.empty() ? "" : "\n\n";
  frame += "data: " + ErrorBody(message, "server_error", {}, "server_shutting_down") + "\n\n";
  frame += "data: [DONE]\n\n";
  if (!co_await WriteChunk(frame)) co_return;
  co_await asio::async_write(socket_, http::make_chunk_last(), kNoThrow);
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

}  // namespace cohost::net
