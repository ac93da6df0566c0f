#include "support/loader_range_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>

namespace cohost::testing {

RangeServer::RangeServer(std::string root) : root_(std::move(root)) {
  net::ServerOptions o;
  o.threads = 4;
  auto s = net::HttpServer::Create(o, [this](net::Exchange& ex) { return Handle(ex); });
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    return;
  }
  server_ = std::move(*s);
  thread_ = std::thread([this] { server_->Run(); });
}

RangeServer::~RangeServer() {
  if (server_) server_->Stop();
  if (thread_.joinable()) thread_.join();
}

std::string RangeServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/" + path;
}

namespace {

struct Reply {
  net::http::status status = net::http::status::ok;
  std::string body;
  net::Headers headers;
  bool stall = false;
  bool ranged = false;
};

// Plain function (not a coroutine): GCC 12 miscompiles some temporaries inside co_await.
Reply Answer(const std::string& root, const std::string& target, const std::string& range) {
  Reply r;
  if (target.rfind("/forbidden/", 0) == 0) {
    r.status = net::http::status::forbidden;
    r.body = "denied";
    return r;
  }
  if (target.rfind("/stall/", 0) == 0) {
    r.stall = true;
    return r;
  }
  std::ifstream f(root + target, std::ios::binary);
  if (!f) {
    r.status = net::http::status::not_found;
    r.body = "no such file";
    return r;
  }
  f.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  auto read = [&f](uint64_t at, uint64_t n) {
    std::string out(n, '\0');
    f.seekg(static_cast<std::streamoff>(at));
    f.read(out.data(), static_cast<std::streamsize>(n));
    return out;
  };
  std::smatch m;
  static const std::regex kRange(R"(bytes=(\d+)-(\d+))");
  if (!std::regex_match(range, m, kRange)) {
    r.body = read(0, size);
    return r;
  }
  r.ranged = true;
  uint64_t a = std::stoull(m[1]), b = std::stoull(m[2]);
  if (a >= size) {
    r.status = net::http::status::range_not_satisfiable;
    return r;
  }
  b = std::min<uint64_t>(b, size - 1);
  r.status = net::http::status::partial_content;
  r.body = read(a, b - a + 1);
  r.headers.emplace_back("Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" +
                                              std::to_string(size));
  return r;
}

}  // namespace

net::asio::awaitable<void> RangeServer::Handle(net::Exchange& ex) {
  const std::string target(ex.request().target());
  const std::string range(ex.request()[net::http::field::range]);
  Reply r = Answer(root_, target, range);
  if (r.ranged) ++range_requests_;
  const std::string type = "application/octet-stream";
  if (r.stall) {
    co_await ex.StartChunked(net::http::status::partial_content, type);
    net::asio::steady_timer t(ex.executor(), std::chrono::seconds(120));
    co_await t.async_wait(net::asio::use_awaitable);
    co_return;
  }
  co_await ex.Respond(r.status, std::move(r.body), type, r.headers);
}

}  // namespace cohost::testing
