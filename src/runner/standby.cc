#include "runner/standby.h"

#include <fcntl.h>
#include <unistd.h>

#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>

#include "core/log.h"
#include "engine/llama_runtime.h"

namespace cohost::runner {
namespace {

using json = nlohmann::json;

// One F16 x F32 matrix product big enough for the device's BLAS path (on CUDA: cuBLAS), so its
// library state and kernels are loaded before a copy's first prompt needs them.
void WarmMatMul(ggml_backend_t backend) {
  ggml_init_params p = {ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
  ggml_context* ctx = ggml_init(p);
  ggml_tensor* a = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 512, 512);
  ggml_tensor* b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 512, 64);
  ggml_tensor* c = ggml_mul_mat(ctx, a, b);
  ggml_cgraph* g = ggml_new_graph(ctx);
  ggml_build_forward_expand(g, c);
  if (ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend)) {
    ggml_backend_buffer_clear(buf, 0);
    ggml_backend_graph_compute(backend, g);
    ggml_backend_synchronize(backend);
    ggml_backend_buffer_free(buf);
  }
  ggml_free(ctx);
}

// Creates a context on every GPU and touches its memory, so the copy's own first allocation and
// kernel launches find the driver, the context and the runtime libraries ready. Nothing is kept:
// the runtime's primary context outlives the buffers and backends made here.
void BringUpDevices() {
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
    const auto t0 = std::chrono::steady_clock::now();
    ggml_backend_t backend = ggml_backend_dev_init(dev, nullptr);
    if (backend) WarmMatMul(backend);
    ggml_backend_buffer_t buf =
        ggml_backend_buft_alloc_buffer(ggml_backend_dev_buffer_type(dev), size_t{1} << 20);
    if (ggml_backend_buffer_type_t host = ggml_backend_dev_host_buffer_type(dev)) {
      if (ggml_backend_buffer_t pinned = ggml_backend_buft_alloc_buffer(host, size_t{1} << 20)) {
        ggml_backend_buffer_free(pinned);
      }
    }
    if (buf) ggml_backend_buffer_free(buf);
    if (backend) {
      ggml_backend_synchronize(backend);
      ggml_backend_free(backend);
    }
    log::Info("device ready", {{"device", ggml_backend_dev_name(dev)},
                               {"seconds", std::chrono::duration<double>(
                                               std::chrono::steady_clock::now() - t0)
                                               .count()}});
  }
}

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
  BringUpDevices();
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
