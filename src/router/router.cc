#include "router/router.h"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <set>

#include "api/openai_request.h"
#include "core/log.h"
#include "core/metric_names.h"
#include "policy/routing.h"
#include "router/upstream.h"

namespace cohost::router {
namespace {

namespace asio = net::asio;
namespace http = net::http;
using asio::awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// What one attempt on one copy came to.
struct Attempt {
  bool done = false;  // the client got an answer (or is gone); false: retry on another copy
  std::string error;  // why it failed, when !done
};

Attempt Retry(std::string error) { return Attempt{false, std::move(error)}; }
Attempt Done() { return Attempt{true, {}}; }

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Timing, status and token usage of one request, recorded into the registry (if any).
struct RequestObserver {
  MetricsRegistry* metrics = nullptr;
  std::string component;
  Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> last;  // when the latest byte went to the client
  int status = 0;                         // the copy's answer

  Labels labels() const { return {{"component", component}}; }
  // A piece of the response reached the client: the first one is the time to first token, the
  // others the gaps between streamed chunks.
  void Sent() {
    Clock::time_point now = Clock::now();
    if (metrics != nullptr) {
      if (!last) metrics->Get(metric::kTimeToFirstToken, labels()).Observe(Seconds(now - start));
      else metrics->Get(metric::kInterTokenLatency, labels()).Observe(Seconds(now - *last));
    }
    last = now;
  }
};

// 503 with Retry-After (parameters by value: they live in this coroutine's frame).
awaitable<void> RespondUnavailable(net::Exchange& ex, int retry_after_s, std::string why) {
  net::Headers extra(1, std::make_pair(std::string("Retry-After"), std::to_string(retry_after_s)));
  co_await ex.RespondError(http::status::service_unavailable, Unavailable(why), extra);
}

// Adds one to a gauge for its lifetime (no-op without a registry).
class GaugeGuard {
 public:
  GaugeGuard(MetricsRegistry* m, const char* name, Labels labels) {
    if (m != nullptr) {
      series_ = &m->Get(name, labels);
      series_->Add(1);
    }
  }
  ~GaugeGuard() {
    if (series_ != nullptr) series_->Add(-1);
  }
  GaugeGuard(const GaugeGuard&) = delete;
  GaugeGuard& operator=(const GaugeGuard&) = delete;

 private:
  Series* series_ = nullptr;
};

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

awaitable<bool> Cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

std::string AvailableModels(const CopyDirectory& directory) {
  std::string names;
  for (const ComponentSummary& c : directory.List()) {
    if (!names.empty()) names += ", ";
    names += c.name;
  }
  return names.empty() ? "none are deployed" : "available models: " + names;
}

// Why a component with no copy coming cannot serve (ComponentRoute::unplaced or ::failed), or
// "" when one may still come.
std::string UnavailableMessage(const std::string& model, const ComponentRoute& route) {
  if (!route.failed.empty()) return "model '" + model + "' has no running copy: its copies failed: " + route.failed;
  if (!route.unplaced.empty())
    return "model '" + model + "' has no running copy and none fits on this node's devices: " + route.unplaced;
  return {};
}

// Response headers worth passing on besides the body's type.
net::Headers RelayedHeaders(const http::fields& fields) {
  net::Headers extra;
  if (auto it = fields.find(http::field::retry_after); it != fields.end()) {
    extra.emplace_back("Retry-After", std::string(it->value()));
  }
  return extra;
}

// Writes the client's request to the runner: same method, target and body.
awaitable<std::string> SendRequest(Connection& c, const net::Request& in) {
  http::request<http::span_body<const char>> req{in.method(), in.target(), 11};
  req.set(http::field::host, "cohost-runner");
  auto ct = in.find(http::field::content_type);
  if (ct == in.end()) {
    req.set(http::field::content_type, "application/json");
  } else {
    req.set(http::field::content_type, ct->value());
  }
  req.keep_alive(true);
  req.body() = boost::beast::span<const char>(in.body().data(), in.body().size());
  req.prepare_payload();
  auto [ec, n] = co_await http::async_write(c.socket, req, kNoThrow);
  co_return ec ? "sending the request failed: " + ec.message() : std::string();
}

// Non-streaming: the whole response is read before anything reaches the client, so any failure
// here can be retried.
awaitable<Attempt> RelayWhole(net::Exchange& ex, ConnectionLease& lease, RequestObserver& obs) {
  Connection& c = lease.connection();
  http::response<http::string_body> res;
  auto [ec, n] = co_await http::async_read(c.socket, c.buffer, res, kNoThrow);
  if (ec) co_return Retry("reading the response failed: " + ec.message());
  if (res.keep_alive()) lease.MarkReusable();
  std::string content_type(res[http::field::content_type]);
  net::Headers extra = RelayedHeaders(res.base());
  obs.status = res.result_int();
  co_await ex.Respond(res.result(), std::move(res.body()), content_type, extra);
  obs.Sent();
  co_return Done();
}

// An OpenAI-style error as a Server-Sent Event, for a stream whose copy failed.
std::string MidStreamErrorEvent(const std::string& why) {
  nlohmann::json error = {{"error",
                           {{"message", "the copy serving this stream failed: " + why},
                            {"type", "server_error"},
                            {"param", nullptr},
                            {"code", "copy_failed"}}}};
  return "\n\ndata: " + error.dump() + "\n\n";
}

// Streaming: the head is read first (failures up to here are retried), then body bytes are
// relayed as they arrive. A failure after the head ends the client's response truncated.
awaitable<Attempt> RelayStream(net::Exchange& ex, ConnectionLease& lease, RequestObserver& obs) {
  Connection& c = lease.connection();
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [ec, n] = co_await http::async_read_header(c.socket, c.buffer, parser, kNoThrow);
  if (ec) co_return Retry("reading the response head failed: " + ec.message());
  auto& res = parser.get();
  std::string content_type(res[http::field::content_type]);
  net::Headers extra = RelayedHeaders(res.base());
  obs.status = res.result_int();
  char buf[16 * 1024];
  if (!res.chunked()) {
    // A whole body (an error answer): nothing was sent yet, so collect it and respond.
    std::string body;
    while (!parser.is_done()) {
      res.body().data = buf;
      res.body().size = sizeof(buf);
      auto [rec, m] = co_await http::async_read(c.socket, c.buffer, parser, kNoThrow);
      if (rec && rec != http::error::need_buffer) co_return Retry("reading the response failed: " + rec.message());
      body.append(buf, sizeof(buf) - res.body().size);
    }
    if (res.keep_alive()) lease.MarkReusable();
    co_await ex.Respond(res.result(), std::move(body), content_type, extra);
    obs.Sent();
    co_return Done();
  }
  bool client_ok = co_await ex.StartChunked(res.result(), content_type, extra);
  while (client_ok && !parser.is_done()) {
    res.body().data = buf;
    res.body().size = sizeof(buf);
    auto [rec, m] = co_await http::async_read_some(c.socket, c.buffer, parser, kNoThrow);
    if (rec == asio::error::operation_aborted) co_return Done();  // the client went away
    if (rec && rec != http::error::need_buffer) {
      // Bytes already reached the client, so this cannot be retried. End with an error event
      // (after a blank line, which closes any event the copy left half-written) so the client
      // learns why, then close without the last chunk: the response is incomplete.
      log::Warn("copy failed mid-stream", {{"error", rec.message()}});
      co_await ex.SendChunk(MidStreamErrorEvent(rec.message()));
      co_await ex.EndChunked(false);
      co_return Done();
    }
    size_t got = sizeof(buf) - res.body().size;
    if (got > 0) {
      client_ok = co_await ex.SendChunk(std::string_view(buf, got));
      obs.Sent();
    }
  }
  if (!client_ok) co_return Done();  // the lease closes the connection: the runner cancels
  if (res.keep_alive()) lease.MarkReusable();
  co_await ex.EndChunked();
  co_return Done();
}

// One attempt on one copy. A pooled connection the runner has meanwhile closed fails on first
// use; that is retried once on a fresh connection to the same copy.
awaitable<Attempt> TryCopy(net::Exchange& ex, Upstream& up, bool stream, RequestObserver& obs) {
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Connection> c = round == 0 ? up.Take() : nullptr;
    bool reused = c != nullptr;
    if (!c) {
      std::string error;
      c = co_await Connect(ex.executor(), up.address(), &error);
      if (!c) co_return Retry(error);
    }
    ConnectionLease lease(up, std::move(c));
    std::string error = co_await SendRequest(lease.connection(), ex.request());
    // (No co_await inside ?: — GCC 12 miscompiles it in coroutines.)
    Attempt a = Retry(error);
    if (error.empty() && stream) {
      a = co_await RelayStream(ex, lease, obs);
    } else if (error.empty()) {
      a = co_await RelayWhole(ex, lease, obs);
    }
    if (a.done || !reused || co_await Cancelled()) co_return a;
  }
  co_return Retry("unreachable");
}

std::string ModelsBody(const std::vector<ComponentSummary>& components, int64_t created) {
  nlohmann::json data = nlohmann::json::array();
  for (const ComponentSummary& c : components) {
    data.push_back({{"id", c.name},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", "cohost"},
                    {"state", c.state()},
                    {"ready_copies", c.ready_copies},
                    {"loading_copies", c.coming_copies}});
  }
  return nlohmann::json({{"object", "list"}, {"data", data}}).dump();
}

}  // namespace

Router::Router(std::shared_ptr<const CopyDirectory> directory, RouterOptions options)
    : directory_(std::move(directory)),
      options_(std::move(options)),
      started_unix_(std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()),
      holds_(options_.metrics),
      table_(std::make_shared<UpstreamTable>()) {}

Router::~Router() = default;

awaitable<void> Router::Handle(net::Exchange& ex) {
  if (!hooked_.exchange(true)) {
    CloseOnShutdown(asio::query(ex.executor(), asio::execution::context), table_);
  }
  const auto& req = ex.request();
  std::string_view target = req.target();
  bool post = req.method() == http::verb::post;
  bool get = req.method() == http::verb::get;
  if ((target == "/v1/completions" || target == "/v1/chat/completions") && post) {
    co_return co_await HandleInference(ex);
  }
  if (target == "/v1/models" && get) co_return co_await HandleModels(ex);
  if (target == "/healthz" && get) {
    co_return co_await ex.Respond(http::status::ok, std::string(R"({"status":"ok"})"));
  }
  if (target == "/v1/completions" || target == "/v1/chat/completions" || target == "/v1/models" ||
      target == "/healthz") {
    co_return co_await ex.RespondError(
        http::status::method_not_allowed,
        InvalidArgument("method", std::string(req.method_string()) + " is not allowed on " + std::string(target)));
  }
  co_await ex.RespondError(http::status::not_found, NotFound("no such path: " + std::string(target)));
}

awaitable<void> Router::HandleModels(net::Exchange& ex) {
  co_await ex.Respond(http::status::ok, ModelsBody(directory_->List(), started_unix_));
}

awaitable<void> Router::HandleInference(net::Exchange& ex) {
  auto routing = api::ParseRouting(ex.request().body());
  if (!routing.ok()) {
    co_return co_await ex.RespondError(net::HttpStatusFor(routing.status()), routing.status());
  }
  if (routing->model.empty()) {
    co_return co_await ex.RespondError(
        http::status::bad_request,
        InvalidArgument("model", "model is required; " + AvailableModels(*directory_)));
  }
  // A client that goes away cancels the attempt in progress (and with it the runner's work).
  co_await ex.UnlessDisconnected(Route(ex, routing->model, routing->stream));
}

void Router::CountOutcome(const std::string& model, const char* outcome) {
  if (options_.metrics == nullptr) return;
  options_.metrics->Get(metric::kRequestsTotal, {{"component", model}, {"outcome", outcome}}).Add(1);
}

awaitable<std::shared_ptr<const ComponentRoute>> Router::Hold(
    net::Exchange& ex, const std::string& model, std::shared_ptr<const ComponentRoute> route) {
  auto unavailable = [&ex](int after, std::string why) { return RespondUnavailable(ex, after, std::move(why)); };
  // No copy is coming because none fits or they failed: answer now rather than hold (or hold on).
  auto refuse_unplaced = [&](std::string why) {
    CountOutcome(model, "rejected");
    return unavailable(options_.retry_after_unavailable_s, std::move(why));
  };
  if (std::string why = UnavailableMessage(model, *route); !why.empty()) {
    co_await refuse_unplaced(std::move(why));
    co_return nullptr;
  }
  if (route->max_held <= 0) {
    CountOutcome(model, "rejected");
    bool coming = route->coming > 0;
    int after = coming ? options_.retry_after_loading_s : options_.retry_after_unavailable_s;
    // The message is built outside the co_await: GCC 12 destroys temporaries of a ?: inside a
    // co_await expression twice.
    std::string why = "model '" + model + "' has no running copy";
    if (coming) why = "model '" + model + "' has no ready copy yet; " + std::to_string(route->coming) + " loading";
    co_await unavailable(after, std::move(why));
    co_return nullptr;
  }
  std::unique_ptr<HoldQueue::Ticket> ticket = holds_.TryEnter(model, route->max_held);
  if (!ticket) {
    CountOutcome(model, "rejected");
    co_await unavailable(options_.retry_after_loading_s,
                         "model '" + model + "' is starting and already holds " +
                             std::to_string(route->max_held) + " requests (scaling.max_held_requests)");
    co_return nullptr;
  }
  if (options_.on_hold) options_.on_hold(model);
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + route->hold_timeout;
  asio::steady_timer timer(ex.executor());
  for (;;) {
    route = directory_->Find(model);
    if (route == nullptr) {
      co_await ex.RespondError(http::status::not_found,
                               Status(StatusCode::kNotFound, "model '" + model + "' was deleted", "model"));
      co_return nullptr;
    }
    if (!route->ready.empty()) break;
    if (std::string why = UnavailableMessage(model, *route); !why.empty()) {
      co_await refuse_unplaced(std::move(why));
      co_return nullptr;
    }
    if (Clock::now() >= deadline) {
      CountOutcome(model, "hold_timeout");
      co_await unavailable(options_.retry_after_loading_s,
                           "model '" + model + "' has no ready copy after waiting " +
                               std::to_string(route->hold_timeout.count() / 1000) +
                               " s (scaling.hold_timeout_s)");
      co_return nullptr;
    }
    // Poll the directory: a copy becoming ready is published by the reconcile thread.
    timer.expires_after(std::min<Clock::duration>(options_.hold_poll, deadline - Clock::now()));
    co_await timer.async_wait(asio::use_awaitable);  // a disconnect cancels it (and the hold)
  }
  if (options_.metrics != nullptr)
    options_.metrics->Get(metric::kHoldDuration, {{"component", model}}).Observe(Seconds(Clock::now() - start));
  co_return route;
}

awaitable<void> Router::Route(net::Exchange& ex, const std::string& model, bool stream) {
  RequestObserver obs;
  obs.metrics = options_.metrics;
  obs.component = model;
  std::shared_ptr<const ComponentRoute> route = directory_->Find(model);
  if (route == nullptr) {
    co_return co_await ex.RespondError(
        http::status::not_found,
        Status(StatusCode::kNotFound,
               "model '" + model + "' not found; " + AvailableModels(*directory_), "model"));
  }
  if (route->ready.empty()) {
    std::shared_ptr<const ComponentRoute> held = co_await Hold(ex, model, route);
    if (held == nullptr) co_return;
    route = std::move(held);
  }
  GaugeGuard in_flight(options_.metrics, metric::kRequestsInFlight, obs.labels());
  std::vector<std::shared_ptr<Upstream>> ups = UpstreamsFor(*route);
  std::vector<policy::CopyLoad> loads(ups.size());
  std::string last_error;
  for (;;) {
    for (size_t i = 0; i < ups.size(); ++i) {
      loads[i].outstanding = ups[i]->outstanding.load(std::memory_order_relaxed);
    }
    std::optional<size_t> pick = policy::ChooseCopy(route->strategy, loads, Draw());
    if (!pick) break;
    loads[*pick].tried = true;
    Upstream& up = *ups[*pick];
    Attempt a;
    {
      OutstandingGuard guard(up);
      a = co_await TryCopy(ex, up, stream, obs);
    }
    if (a.done) {
      if (co_await Cancelled()) {
        CountOutcome(model, "cancelled");
        co_return;
      }
      CountOutcome(model, obs.status / 100 == 2 ? "ok" : "error");
      if (options_.metrics != nullptr)
        options_.metrics->Get(metric::kRequestDuration, obs.labels()).Observe(Seconds(Clock::now() - obs.start));
      co_return;
    }
    if (co_await Cancelled()) {
      CountOutcome(model, "cancelled");
      co_return;
    }
    up.failures.fetch_add(1, std::memory_order_relaxed);
    log::Warn("copy failed before answering; retrying on another",
              {{"model", model}, {"copy", up.id()}, {"error", a.error}});
    last_error = a.error;
  }
  CountOutcome(model, "error");
  net::Headers extra(1, std::make_pair(std::string("Retry-After"),
                                       std::to_string(options_.retry_after_loading_s)));
  co_await ex.RespondError(
      http::status::service_unavailable,
      Unavailable("every ready copy of model '" + model + "' failed (" +
                  std::to_string(ups.size()) + " tried); last error: " + last_error),
      extra);
}

std::vector<std::shared_ptr<Upstream>> Router::UpstreamsFor(const ComponentRoute& route) {
  std::vector<std::shared_ptr<Upstream>> out;
  out.reserve(route.ready.size());
  std::lock_guard<std::mutex> l(table_->mu);
  for (const CopyEndpoint& copy : route.ready) {
    auto it = table_->upstreams.find(copy.id);
    if (it == table_->upstreams.end() || it->second->address().ToString() != copy.address.ToString()) {
      auto up = std::make_shared<Upstream>(copy.id, copy.address, options_.max_idle_connections_per_copy);
      it = table_->upstreams.insert_or_assign(copy.id, std::move(up)).first;
    }
    out.push_back(it->second);
  }
  return out;
}

uint64_t Router::Draw() {
  return SplitMix64(options_.seed + draws_.fetch_add(1, std::memory_order_relaxed));
}

void Router::CloseIdleConnections() {
  std::set<std::string> ready;
  for (const ComponentSummary& c : directory_->List()) {
    auto route = directory_->Find(c.name);
    if (route == nullptr) continue;
    for (const CopyEndpoint& copy : route->ready) ready.insert(copy.id);
  }
  std::vector<std::shared_ptr<Upstream>> gone;  // destroyed outside the lock
  {
    std::lock_guard<std::mutex> l(table_->mu);
    for (auto it = table_->upstreams.begin(); it != table_->upstreams.end();) {
      if (ready.count(it->first)) {
        ++it;
        continue;
      }
      gone.push_back(std::move(it->second));
      it = table_->upstreams.erase(it);
    }
  }
  for (auto& up : gone) up->Close();
}

std::vector<CopyCounters> Router::Counters() const {
  std::lock_guard<std::mutex> l(table_->mu);
  std::vector<CopyCounters> out;
  for (const auto& [id, up] : table_->upstreams) {
    out.push_back(CopyCounters{id, up->outstanding.load(), up->requests.load(), up->failures.load()});
  }
  return out;
}

}  // namespace cohost::router
