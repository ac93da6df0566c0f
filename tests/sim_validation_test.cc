// Simulator faithfulness: one short trace replayed on a live `cohost serve` (virtual devices, a
// generated model, a real runner) and in the simulator with the same trace, and the latency
// percentiles compared.
//
// The simulator's service profile is calibrated on the live copy first (requests alone at two
// output lengths give decode speed and a fixed per-request time, two at once give the batching
// speedup), as `cohost profile` would. The trace then arrives at half of one copy's capacity so
// batching and queueing both matter. Tolerance: each percentile within 50% of the live value plus
// 50 ms (the live side runs on a shared 2-core machine; the simulator has no network or HTTP
// cost beyond what calibration folds into the per-request time). Both sets of figures are
// printed.
//
// Copies over time are not compared here: the trace runs on one fixed copy (copies.min = max = 1
// on both sides).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "sim/engine.h"
#include "sim/scenario.h"
#include "support/serve.h"

namespace cohost::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Timed {
  double seconds = 0;
  int prompt_tokens = 0;
  bool ok = false;
};

Timed Complete(const Serve& serve, int max_tokens) {
  net::HttpClient client = serve.Client();
  json body = {{"model", "alpha"}, {"prompt", "the quick brown fox jumps over the lazy dog"},
               {"max_tokens", max_tokens}, {"ignore_eos", true}};
  auto start = Clock::now();
  JsonResponse r = PostJson(client, "/v1/completions", body);
  Timed t;
  t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  t.ok = r.status == 200;
  if (t.ok) t.prompt_tokens = r.body["usage"]["prompt_tokens"].get<int>();
  return t;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::min<double>(v.size() - 1, std::floor(q * (v.size() - 1) + 0.5)))];
}

TEST(SimValidationTest, TraceOnLiveServeAndInSimulatorAgreeOnLatency) {
  TempDir dir;
  Serve serve(dir.path(), WriteInventory(dir, 2, 4096));
  ASSERT_GT(serve.port(), 0) << serve.Log();
  ASSERT_EQ(serve.Call("POST", "/v1/endpoints", {{"name", "main"}}).status, 201);
  json spec = ComponentSpec("alpha", SmallModel(), 0.5, 1);
  spec["copies"] = {{"initial", 1}, {"min", 1}, {"max", 1}};
  ASSERT_EQ(serve.Call("POST", "/v1/inference-components", spec).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return serve.ReadyCopies("alpha") == 1; }, std::chrono::seconds(90)))
      << serve.Log();

  // Calibration.
  const int kShort = 16, kLong = 160;
  std::vector<double> short_t, long_t, pair_t;
  int prompt_tokens = 0;
  for (int i = 0; i < 9; ++i) {
    Timed a = Complete(serve, kShort), b = Complete(serve, kLong);
    ASSERT_TRUE(a.ok && b.ok);
    short_t.push_back(a.seconds);
    long_t.push_back(b.seconds);
    prompt_tokens = a.prompt_tokens;
  }
  for (int i = 0; i < 7; ++i) {
    Timed x, y;
    std::thread other([&] { y = Complete(serve, kLong); });
    x = Complete(serve, kLong);
    other.join();
    ASSERT_TRUE(x.ok && y.ok);
    pair_t.push_back(std::max(x.seconds, y.seconds));
  }
  double t_short = Median(short_t), t_long = Median(long_t), t_pair = Median(pair_t);
  sim::ServiceProfile profile;
  profile.decode_tps = (kLong - kShort) / std::max(1e-4, t_long - t_short);
  double fixed_s = std::max(1e-4, t_short - kShort / profile.decode_tps);
  profile.prompt_tps = prompt_tokens / fixed_s;
  profile.batching = {{2, std::clamp(2 * t_long / t_pair, 1.0, 2.0)}};
  printf("calibration: prompt %d tokens, alone %.4f s (%d out) / %.4f s (%d out), two at once %.4f s"
         " -> decode %.1f tok/s, fixed %.4f s, speedup(2) %.2f\n",
         prompt_tokens, t_short, kShort, t_long, kLong, t_pair, profile.decode_tps, fixed_s,
         profile.batching[0].second);

  // The trace: Poisson arrivals at ~50% of one copy's capacity at batch 2, output 16..160 tokens.
  const int kRequests = 40;
  double capacity = profile.batching[0].second / t_long;  // requests/s with long outputs
  std::mt19937_64 rng(20261203);
  std::vector<sim::Request> trace;
  double t = 0.2;
  for (int i = 0; i < kRequests; ++i) {
    t += -std::log1p(-static_cast<double>(rng() >> 11) * 0x1.0p-53) / (0.5 * capacity);
    int out = kShort + static_cast<int>(rng() % (kLong - kShort + 1));
    trace.push_back({t, 0, prompt_tokens, out});
  }
  printf("trace: %d requests over %.2f s (seed 20261203)\n", kRequests, t);

  // Live replay: each request sent at its timestamp from its own thread.
  std::vector<double> live(kRequests, -1);
  std::vector<std::thread> senders;
  auto start = Clock::now();
  for (int i = 0; i < kRequests; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(trace[i].arrival_s)));
    senders.emplace_back([&, i] {
      Timed r = Complete(serve, trace[i].output_tokens);
      live[i] = r.ok ? r.seconds : -1;
    });
  }
  for (auto& s : senders) s.join();
  for (int i = 0; i < kRequests; ++i) ASSERT_GE(live[i], 0) << "request " << i << " failed";

  // The same trace in the simulator: one copy of the same reservation, never scaled.
  sim::Scenario scenario;
  scenario.name = "validation";
  scenario.duration_s = t + 1;
  scenario.node_types.push_back({"vnode", 2, 4096, 8, 1.0, 0, 1});
  sim::ModelSpec m;
  m.name = "alpha";
  m.size_mib = 64;
  m.accelerators = 0.5;
  m.memory_mib = 1024;
  m.cpu_cores = 0.25;
  m.parallel = 2;
  m.load_time_s = 1;
  m.profile = profile;
  m.scaling.min_copies = 1;
  m.scaling.max_copies = 1;
  scenario.models.push_back(m);
  auto result = sim::RunStrategy(scenario, trace, sim::StrategyKind::kInferenceComponents);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->completed, kRequests);

  struct Row {
    const char* name;
    double live, sim;
  };
  Row rows[] = {{"e2e p50", Quantile(live, 0.5), result->e2e_p50_s},
                {"e2e p90", Quantile(live, 0.9), result->e2e_p90_s}};
  printf("%-8s %10s %10s %21s\n", "", "live", "simulated", "allowed");
  for (const Row& r : rows) {
    double lo = r.live / 2 - 0.05, hi = r.live * 2 + 0.05;
    printf("%-8s %9.4fs %9.4fs   [%7.4fs, %7.4fs]\n", r.name, r.live, r.sim, std::max(0.0, lo), hi);
    EXPECT_GE(r.sim, lo) << r.name;
    EXPECT_LE(r.sim, hi) << r.name;
  }
}

}  // namespace
}  // namespace cohost::testing
