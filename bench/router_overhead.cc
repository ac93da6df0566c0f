// router_overhead: latency the router adds to a short non-streaming completion.
//
//   router_overhead --cohost build/bin/cohost --model tiny.gguf [--requests 2000] [--json]
//   router_overhead --runner 127.0.0.1:8080 --model-name small [--requests 2000]
//
// Starts a runner (`cohost runner --model FILE --port P --alias bench --parallel 1`) unless
// --runner names one, and a Router in this process in front of it (an HttpServer on one io
// thread, a StaticCopyDirectory with that one copy). Two kept-alive clients — one to the runner,
// one to the router — then send N sequential POST /v1/completions
//   {"model": M, "prompt": "Hi", "max_tokens": 1, "temperature": 0}
// rotating direct, routed and relayed (the order rotates too), after a warm-up.
//
// Relayed is the reference for what any proxy in that place costs on this machine: a byte relay
// (one thread, poll() on the client's and the runner's sockets, every byte forwarded as it
// arrives, no HTTP) between a third client and the runner. It pays the same extra process hop —
// two more sleeps and wake-ups, two more socket round trips — and nothing else, so
// routed - relayed is the router's own cost (parsing, routing, its event loop). On a VM the
// wake-ups alone can cost more than the goal.
//
// Reports p50 and p99 of each path and of the per-triple differences (routed - direct,
// relayed - direct), in microseconds, from std::chrono::steady_clock on the client.
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "net/http_server.h"
#include "router/copy_directory.h"
#include "router/router.h"
#include "sys/process.h"

namespace {

using namespace cohost;
using Clock = std::chrono::steady_clock;

// CPU time a thread has used so far, in microseconds.
double ThreadCpuUs(std::thread& t) {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(t.native_handle(), &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

int FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double TimeOne(net::HttpClient& c, const std::string& body, bool* ok) {
  auto t0 = Clock::now();
  auto r = c.Send("POST", "/v1/completions", body);
  auto t1 = Clock::now();
  if (!r.ok() || r->status != 200) {
    std::fprintf(stderr, "request failed: %s\n",
                 r.ok() ? (std::to_string(r->status) + " " + r->body).c_str() : r.status().ToString().c_str());
    *ok = false;
  }
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

// A byte relay on 127.0.0.1: accepts one connection, connects it to `to`, and forwards bytes both
// ways until either side closes. The listening port is returned before the thread accepts.
class ByteRelay {
 public:
  explicit ByteRelay(net::Address to) : to_(std::move(to)) {
    namespace ip = boost::asio::ip;
    acceptor_.open(ip::tcp::v4());
    acceptor_.bind({ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { Run(); });
  }
  ~ByteRelay() { thread_.join(); }
  int port() const { return acceptor_.local_endpoint().port(); }
  double CpuUs() { return ThreadCpuUs(thread_); }

 private:
  void Run() {
    namespace ip = boost::asio::ip;
    ip::tcp::socket client(ioc_), runner(ioc_);
    acceptor_.accept(client);
    runner.connect({ip::make_address(to_.host), static_cast<uint16_t>(to_.port)});
    client.set_option(ip::tcp::no_delay(true));
    runner.set_option(ip::tcp::no_delay(true));
    int fds[2] = {client.native_handle(), runner.native_handle()};
    char buf[16 * 1024];
    for (;;) {
      pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) return;
      for (int i = 0; i < 2; ++i) {
        if (p[i].revents == 0) continue;
        ssize_t n = ::recv(fds[i], buf, sizeof(buf), 0);
        if (n <= 0) return;  // either side closed: done
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::send(fds[1 - i], buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
          if (w <= 0) return;
          off += w;
        }
      }
    }
  }

  net::Address to_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: router_overhead (--cohost BIN --model FILE | --runner HOST:PORT --model-name NAME)"
               " [--requests N] [--json]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cohost_bin, model, runner_addr, model_name = "bench";
  int requests = 2000;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--cohost") cohost_bin = next();
    else if (a == "--model") model = next();
    else if (a == "--runner") runner_addr = next();
    else if (a == "--model-name") model_name = next();
    else if (a == "--requests") requests = std::stoi(next());
    else if (a == "--json") as_json = true;
    else return Usage();
  }
  std::optional<sys::Process> runner;
  net::Address address;
  if (runner_addr.empty()) {
    if (cohost_bin.empty() || model.empty()) return Usage();
    int port = FreePort();
    auto p = sys::Process::Spawn({{cohost_bin, "runner", "--model", model, "--port", std::to_string(port),
                                   "--alias", model_name, "--parallel", "1", "--threads", "1"},
                                  "/tmp/router_overhead_runner.log"});
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
      return 1;
    }
    runner.emplace(std::move(*p));
    address.host = "127.0.0.1";
    address.port = port;
  } else {
    auto a = net::Address::Parse(runner_addr);
    if (!a.ok()) return Usage();
    address = *a;
  }
  // Wait for the runner by polling /healthz (bounded).
  net::HttpClient direct(address, std::chrono::seconds(30));
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto h = net::HttpClient(address, std::chrono::seconds(1)).Send("GET", "/healthz");
    if (h.ok() && h->status == 200) break;
    if (Clock::now() > deadline || (runner && runner->TryWait())) {
      std::fprintf(stderr, "runner did not come up (see /tmp/router_overhead_runner.log)\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child's start-up
  }

  auto directory = std::make_shared<router::StaticCopyDirectory>();
  router::ComponentRoute route;
  route.ready.push_back(router::CopyEndpoint{"copy-0", address});
  directory->Set(model_name, route);
  auto rt = std::make_shared<router::Router>(directory);
  net::ServerOptions so;
  so.threads = 1;
  auto server = net::HttpServer::Create(so, [rt](net::Exchange& ex) { return rt->Handle(ex); });
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::thread io([&] { (*server)->Run(); });
  net::Address router_address;
  router_address.host = "127.0.0.1";
  router_address.port = (*server)->port();
  net::HttpClient routed(router_address, std::chrono::seconds(30));

  std::string body = nlohmann::json({{"model", model_name}, {"prompt", "Hi"}, {"max_tokens", 1},
                                     {"temperature", 0}})
                         .dump();
  std::optional<ByteRelay> relay;
  relay.emplace(address);
  net::Address relay_address;
  relay_address.host = "127.0.0.1";
  relay_address.port = relay->port();
  std::optional<net::HttpClient> relayed;
  relayed.emplace(relay_address, std::chrono::seconds(30));

  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) {  // warm-up: connections, caches, the runner's first decode
    TimeOne(direct, body, &ok);
    TimeOne(routed, body, &ok);
    TimeOne(*relayed, body, &ok);
  }
  std::vector<double> d, r, x, diff, xdiff;
  const double router_cpu0 = ThreadCpuUs(io), relay_cpu0 = relay->CpuUs();
  for (int i = 0; i < requests && ok; ++i) {
    double t[3];
    net::HttpClient* clients[3] = {&direct, &routed, &*relayed};
    for (int k = 0; k < 3; ++k) {
      int which = (i + k) % 3;  // rotates which path goes first
      t[which] = TimeOne(*clients[which], body, &ok);
    }
    d.push_back(t[0]);
    r.push_back(t[1]);
    x.push_back(t[2]);
    diff.push_back(t[1] - t[0]);
    xdiff.push_back(t[2] - t[0]);
  }
  const double router_cpu = (ThreadCpuUs(io) - router_cpu0) / requests;
  const double relay_cpu = (relay->CpuUs() - relay_cpu0) / requests;
  relayed.reset();  // closing the client ends the relay's thread
  relay.reset();
  (*server)->Stop();
  io.join();
  if (runner) {
    runner->Signal(SIGTERM);
    runner->WaitFor(std::chrono::seconds(10));
  }
  if (!ok) return 1;
  double p50d = Percentile(d, 0.5), p99d = Percentile(d, 0.99);
  double p50r = Percentile(r, 0.5), p99r = Percentile(r, 0.99);
  double p50x = Percentile(diff, 0.5), p99x = Percentile(diff, 0.99);
  double p50y = Percentile(xdiff, 0.5), p99y = Percentile(xdiff, 0.99);
  double p50rel = Percentile(x, 0.5), p99rel = Percentile(x, 0.99);
  if (as_json) {
    std::printf("%s\n", nlohmann::json({{"requests", requests},
                                        {"direct_us", {{"p50", p50d}, {"p99", p99d}}},
                                        {"routed_us", {{"p50", p50r}, {"p99", p99r}}},
                                        {"relayed_us", {{"p50", p50rel}, {"p99", p99rel}}},
                                        {"added_us", {{"p50", p50x}, {"p99", p99x}}},
                                        {"relay_added_us", {{"p50", p50y}, {"p99", p99y}}},
                                        {"router_own_p50_us", p50x - p50y},
                                        {"router_cpu_us_per_request", router_cpu},
                                        {"relay_cpu_us_per_request", relay_cpu},
                                        {"added_p50_minus_p50_us", p50r - p50d},
                                        {"added_p99_minus_p99_us", p99r - p99d}})
                            .dump(2)
                            .c_str());
  } else {
    std::printf("requests per path: %d (max_tokens 1, sequential, interleaved)\n", requests);
    std::printf("relayed  p50 %8.1f us  p99 %8.1f us  (byte relay: the reference)\n", p50rel, p99rel);
    std::printf("direct   p50 %8.1f us  p99 %8.1f us\n", p50d, p99d);
    std::printf("routed   p50 %8.1f us  p99 %8.1f us\n", p50r, p99r);
    std::printf("added    p50 %8.1f us  p99 %8.1f us  (per-pair difference)\n", p50x, p99x);
    std::printf("added    p50 %8.1f us  p99 %8.1f us  (difference of percentiles)\n", p50r - p50d,
                p99r - p99d);
    std::printf("relay    p50 %8.1f us  p99 %8.1f us  (per-triple difference, relayed - direct)\n", p50y,
                p99y);
    std::printf("router's own p50 %.1f us (router added - relay added)\n", p50x - p50y);
    std::printf("CPU per request: router thread %.1f us, relay thread %.1f us\n", router_cpu, relay_cpu);
  }
  return 0;
}
