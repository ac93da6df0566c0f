#include "runner/standby.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>

#include "core/log.h"
#include "engine/device_warmup.h"
#include "engine/llama_runtime.h"

namespace cohost::runner {
namespace {

using json = nlohmann::json;

// (Built outside the handler: braced lists inside coroutines trip GCC 12.)
std::string HealthBody(bool devices_ready) {
  return json{{"status", "standby"}, {"devices_ready", devices_ready}}.dump();
}
std::string StartedBody() { return json{{"pid", ::getpid()}}.dump(); }

}  // namespace

StatusOr<StandbyStart> ParseStandbyStart(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body", "must be a JSON object");
  StandbyStart s;
  if (!j.contains("args") || !j["args"].is_array() || j["args"].empty())
    return InvalidArgument("args", "must be a non-empty array of strings");
  for (const json& a : j["args"]) {
    if (!a.is_string()) return InvalidArgument("args", "must be a non-empty array of strings");
    s.args.push_back(a.get<std::string>());
  }
  if (s.args.front() != "runner") return InvalidArgument("args", "must start with \"runner\"");
  if (j.contains("log_path")) {
    if (!j["log_path"].is_string()) return InvalidArgument("log_path", "must be a string");
    s.log_path = j["log_path"].get<std::string>();
  }
  return s;
}

Status RedirectOutput(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("cannot open " + path + " for the runner's output");
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
  return Status::Ok();
}

StatusOr<StandbyStart> RunStandby(const StandbyOptions& options) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<StandbyStart> start;  // guarded by mu
  bool devices_ready = false;         // guarded by mu
  bool stopped = false;               // guarded by mu
  bool claimed = false;               // guarded by mu: a start is being answered

  auto server = net::HttpServer::Create(options.server, [&](net::Exchange& ex) -> net::asio::awaitable<void> {
    const auto& req = ex.request();
    if (req.target() == "/healthz" && req.method() == net::http::verb::get) {
      bool ready;
      {
        std::lock_guard<std::mutex> l(mu);
        ready = devices_ready;
      }
      co_return co_await ex.Respond(net::http::status::ok, HealthBody(ready));
    }
    if (req.target() == "/standby/start" && req.method() == net::http::verb::post) {
      auto parsed = ParseStandbyStart(req.body());
      if (!parsed.ok()) co_return co_await ex.RespondError(net::http::status::bad_request, parsed.status());
      bool taken = false;
      {
        std::lock_guard<std::mutex> l(mu);
        taken = claimed || stopped;
        claimed = true;
      }
      if (taken) {
        co_return co_await ex.RespondError(net::http::status::conflict,
                                           Status(StatusCode::kAlreadyExists, "this standby was already started"));
      }
      // Answer first: the main thread stops this server as soon as it sees the start.
      co_await ex.Respond(net::http::status::ok, StartedBody());
      {
        std::lock_guard<std::mutex> l(mu);
        start = std::move(*parsed);
      }
      cv.notify_all();
      co_return;
    }
    co_await ex.RespondError(net::http::status::not_found, NotFound("no such path on a standby runner"));
  });
  if (!server.ok()) return server.status();
  net::asio::signal_set signals((*server)->io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    {
      std::lock_guard<std::mutex> l(mu);
      stopped = true;
    }
    cv.notify_all();
  });
  std::thread http([&] { (*server)->Run(); });
  log::Info("standby", {{"address", (*server)->address()}});

  engine::InitLlamaRuntime(options.verbose);
  engine::WarmUpDevices();
  {
    std::lock_guard<std::mutex> l(mu);
    devices_ready = true;
  }
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return start.has_value() || stopped; });
  const bool was_stopped = stopped && !start;
  l.unlock();
  signals.cancel();
  (*server)->Stop();
  http.join();
  if (options.server.unix_socket.size()) ::unlink(options.server.unix_socket.c_str());
  if (was_stopped) return Status(StatusCode::kCancelled, "the standby was stopped before it was started");
  return std::move(*start);
}

}  // namespace cohost::runner
