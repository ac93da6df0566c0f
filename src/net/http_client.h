// HttpClient: a small blocking HTTP/1.1 client over TCP or a Unix socket (Boost.Beast).
//
// Used by the CLI, tests and benchmarks, and by control-plane code that talks to runners.
// One connection per client, kept alive between requests. Not thread-safe: one caller at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost::net {

// Where a server listens: "127.0.0.1:8080", "localhost:8080", or "unix:/path/to.sock".
struct Address {
  std::string host;
  int port = 0;
  std::string unix_socket;
  static StatusOr<Address> Parse(std::string_view text);
  std::string ToString() const;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(std::string_view name) const;  // case-insensitive; empty if absent
};

class HttpClient {
 public:
  // `timeout` bounds every wait for the server: to take the request's bytes and to send the
  // next bytes of its answer (an idle limit; a stream that keeps sending may last longer).
  explicit HttpClient(Address address, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;

  // Sends one request and reads the whole response.
  // Errors: kUnavailable when the connection fails or drops, kDeadlineExceeded on timeout (the
  // connection is then closed, so a server that watches for it sees the client go away).
  StatusOr<HttpResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body = {},
                              std::string_view content_type = "application/json");

  // As Send(), but hands each piece of the body to `on_body` as it arrives. When on_body
  // returns false the connection is closed at once (a client going away mid-stream).
  StatusOr<HttpResponse> SendStreaming(std::string_view method, std::string_view target,
                                       std::string_view body,
                                       const std::function<bool(std::string_view)>& on_body);

  // Closes the connection (the next request reconnects).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits a Server-Sent Events body into the payloads of its "data:" lines. Incomplete trailing
// events stay in `buffer` for the next call.
std::vector<std::string> TakeSseEvents(std::string& buffer);

}  // namespace cohost::net
