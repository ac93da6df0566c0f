#include "net/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <optional>

namespace cohost::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Socket = asio::generic::stream_protocol::socket;

StatusOr<Address> Address::Parse(std::string_view text) {
  Address a;
  if (text.rfind("unix:", 0) == 0) {
    a.unix_socket = std::string(text.substr(5));
    if (a.unix_socket.empty()) return InvalidArgument("address", "unix: needs a path");
    return a;
  }
  if (text.rfind("http://", 0) == 0) text.remove_prefix(7);
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("address", "expected host:port, got '" + std::string(text) + "'");
  a.host = std::string(text.substr(0, colon));
  try {
    a.port = std::stoi(std::string(text.substr(colon + 1)));
  } catch (...) {
    return InvalidArgument("address", "bad port in '" + std::string(text) + "'");
  }
  if (a.host.empty() || a.host == "localhost") a.host = "127.0.0.1";
  return a;
}

std::string Address::ToString() const {
  return unix_socket.empty() ? host + ":" + std::to_string(port) : "unix:" + unix_socket;
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return v;
    }
  }
  return {};
}

// The connected socket as a Beast sync stream whose every read and write waits at most
// `timeout` for the socket to be ready. (SO_RCVTIMEO does not do it: when recv gives up with
// EAGAIN, Asio's blocking read polls again without a limit.)
class TimedStream {
 public:
  using executor_type = Socket::executor_type;
  TimedStream(Socket& socket, std::chrono::milliseconds timeout) : socket_(socket), timeout_(timeout) {}
  executor_type get_executor() { return socket_.get_executor(); }

  template <typename Buffers>
  size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!Ready(POLLIN, ec)) return 0;
    return socket_.read_some(buffers, ec);
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
    if (!Ready(POLLOUT, ec)) return 0;
    return socket_.write_some(buffers, ec);
  }
  // The throwing forms the stream concepts also ask for.
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    return OrThrow([&](boost::system::error_code& ec) { return read_some(buffers, ec); });
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers) {
    return OrThrow([&](boost::system::error_code& ec) { return write_some(buffers, ec); });
  }

 private:
  template <typename F>
  static size_t OrThrow(F op) {
    boost::system::error_code ec;
    size_t n = op(ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  bool Ready(short events, boost::system::error_code& ec) {
    pollfd p{socket_.native_handle(), events, 0};
    for (;;) {
      int r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
      if (r > 0) return true;  // ready, or an error the read or write will report
      if (r == 0) {
        ec = asio::error::timed_out;
        return false;
      }
      if (errno != EINTR) {
        ec = boost::system::error_code(errno, boost::system::system_category());
        return false;
      }
    }
  }

  Socket& socket_;
  std::chrono::milliseconds timeout_;
};

struct HttpClient::Impl {
  Address address;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::optional<Socket> socket;
  boost::beast::flat_buffer buffer;

  Status Connect() {
    if (socket) return Status::Ok();
    boost::system::error_code ec;
    asio::generic::stream_protocol::endpoint ep;
    if (!address.unix_socket.empty()) {
      ep = asio::local::stream_protocol::endpoint(address.unix_socket);
    } else {
      auto ip = asio::ip::make_address(address.host, ec);
      if (ec) return InvalidArgument("address", "'" + address.host + "' is not an IP address");
      ep = asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(address.port));
    }
    socket.emplace(ioc);
    socket->connect(ep, ec);
    if (ec) {
      socket.reset();
      return Unavailable("cannot connect to " + address.ToString() + ": " + ec.message());
    }
    if (address.unix_socket.empty()) socket->set_option(asio::ip::tcp::no_delay(true), ec);
    buffer.clear();
    return Status::Ok();
  }

  Status Failed(const boost::system::error_code& ec, std::string_view what) {
    socket.reset();
    if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::timed_out)
      return Status(StatusCode::kDeadlineExceeded, std::string(what) + " timed out after " +
                                                       std::to_string(timeout.count()) + " ms");
    return Unavailable(std::string(what) + " failed: " + ec.message());
  }
};

HttpClient::HttpClient(Address address, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->timeout = timeout;
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;

void HttpClient::Close() {
  impl_->socket.reset();
}

StatusOr<HttpResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                        std::string_view body, std::string_view content_type) {
  return SendStreaming(method, target, body, nullptr);
}

StatusOr<HttpResponse> HttpClient::SendStreaming(std::string_view method, std::string_view target,
                                                 std::string_view body,
                                                 const std::function<bool(std::string_view)>& on_body) {
  for (int attempt = 0;; ++attempt) {
    bool reused = impl_->socket.has_value();
    RETURN_IF_ERROR(impl_->Connect());
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, impl_->address.unix_socket.empty() ? impl_->address.host : "localhost");
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = std::string(body);
    }
    req.prepare_payload();
    boost::system::error_code ec;
    TimedStream stream(*impl_->socket, impl_->timeout);
    http::write(stream, req, ec);
    if (ec) {
      Status st = impl_->Failed(ec, "sending the request");
      if (reused && attempt == 0) continue;  // a kept-alive connection the server had closed
      return st;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    http::read_header(stream, impl_->buffer, parser, ec);
    if (ec) {
      Status st = impl_->Failed(ec, "reading the response");
      if (reused && attempt == 0 && ec == http::error::end_of_stream) continue;
      return st;
    }
    size_t delivered = 0;
    while (!parser.is_done()) {
      http::read_some(stream, impl_->buffer, parser, ec);
      if (ec) return impl_->Failed(ec, "reading the response");
      if (on_body) {
        std::string& b = parser.get().body();
        if (b.size() > delivered) {
          bool go_on = on_body(std::string_view(b).substr(delivered));
          delivered = b.size();
          if (!go_on) {
            impl_->socket.reset();  // close mid-stream
            HttpResponse r;
            r.status = parser.get().result_int();
            return r;
          }
        }
      }
    }
    auto msg = parser.release();
    HttpResponse r;
    r.status = msg.result_int();
    for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (on_body && msg.body().size() > delivered) on_body(std::string_view(msg.body()).substr(delivered));
    r.body = std::move(msg.body());
    if (!msg.keep_alive()) impl_->socket.reset();
    return r;
  }
}

std::vector<std::string> TakeSseEvents(std::string& buffer) {
  std::vector<std::string> events;
  std::erase(buffer, '\r');  // the SSE spec allows CRLF line ends
  size_t start = 0;
  for (;;) {
    size_t end = buffer.find("\n\n", start);
    if (end == std::string::npos) break;
    std::string_view event(buffer.data() + start, end - start);
    size_t pos = 0;
    while (pos <= event.size()) {
      size_t nl = event.find('\n', pos);
      std::string_view line = event.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      if (line.rfind("data:", 0) == 0) {
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        events.emplace_back(line);
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    start = end + 2;
  }
  buffer.erase(0, start);
  return events;
}

}  // namespace cohost::net
