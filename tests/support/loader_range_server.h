// RangeServer: a tiny HTTP file server with Range support for the loader tests (python's
// http.server ignores Range). Serves files under a root directory on loopback, in a thread.
//   /<name>            the file (206 for a Range request, 404 when missing)
//   /forbidden/<name>  403
//   /stall/<name>      sends the response headers, then nothing (a stalled server)
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "net/http_server.h"

namespace cohost::testing {

class RangeServer {
 public:
  explicit RangeServer(std::string root);
  ~RangeServer();
  std::string Url(const std::string& path) const;
  int range_requests() const { return range_requests_.load(); }

 private:
  net::asio::awaitable<void> Handle(net::Exchange& ex);
  std::string root_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::atomic<int> range_requests_{0};
};

}  // namespace cohost::testing
