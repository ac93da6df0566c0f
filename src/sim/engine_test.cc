#include "sim/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim/service.h"
#include "sim/simulate.h"
#include "sim/traffic.h"

namespace cohost::sim {
namespace {

Scenario Tiny(int max_nodes = 4) {
  std::string yaml = R"(name: tiny
duration_h: 2
seed: 11
autoscale_tick_s: 10
fleet:
  node_types:
    - { name: n, devices: 2, device_memory_gb: 40, price_per_hour: 10, max_nodes: )" +
                     std::to_string(max_nodes) + R"( }
models:
  - name: a
    size_gb: 10
    reservation: { accelerators: 0.5, memory_gb: 12, cpu_cores: 1 }
    parallel: 4
    load_time_s: 15
    profile: { prompt_tps: 1000, decode_tps: 20, batching: [[4, 3]] }
    traffic: { rate_per_s: 0.8, pattern: bursty, on_s: 120, off_s: 600, burst_factor: 6, prompt_tokens: 200, output_tokens: 40 }
    scaling: { target: 3, min: 0, max: 6, scale_to_zero_after_s: 120, scale_in_cooldown_s: 60 }
  - name: b
    size_gb: 2
    reservation: { accelerators: 0.25, memory_gb: 4 }
    parallel: 8
    load_time_s: 5
    traffic: { rate_per_s: 0.3, pattern: diurnal, prompt_tokens: 100, output_tokens: 20 }
)";
  auto s = ParseScenario(yaml);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

TEST(ServiceTest, OneRequestAloneTakesItsWork) {
  ServiceProfile p;
  p.prompt_tps = 1000;
  p.decode_tps = 10;
  std::vector<double> speedup = SpeedupTable(p, 4);
  CopyServer c(&speedup);
  double ttft = -1;
  auto on_first = [&](int64_t, double t) { ttft = t; };
  c.Advance(0, on_first);
  c.Add(1, RequestWork(p, 500, 20), FirstTokenWork(p, 500));
  EXPECT_DOUBLE_EQ(c.NextCompletion(), 0.5 + 2.0);
  c.Advance(2.5, on_first);
  EXPECT_NEAR(ttft, 0.6, 1e-9);
  std::vector<int64_t> done;
  c.CompleteDue(2.5, &done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(c.outstanding(), 0);
}

TEST(ServiceTest, BatchingSharesTheSpeedupAndQueuesBeyondTheSlots) {
  ServiceProfile p;
  p.prompt_tps = 1e9;
  p.decode_tps = 1;
  p.batching = {{2, 1.5}};
  std::vector<double> speedup = SpeedupTable(p, 2);
  EXPECT_DOUBLE_EQ(speedup[2], 1.5);
  CopyServer c(&speedup);
  auto none = [](int64_t, double) {};
  for (int i = 0; i < 3; ++i) c.Add(i, 3, 1);
  EXPECT_EQ(c.active(), 2);
  EXPECT_EQ(c.queued(), 1);
  // Two in slots each advance at 0.75/s: 3 units of work take 4 s.
  EXPECT_NEAR(c.NextCompletion(), 4, 1e-9);
  c.Advance(4, none);
  std::vector<int64_t> done;
  c.CompleteDue(4, &done);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(c.active(), 1);  // the queued one started
  EXPECT_NEAR(c.NextCompletion(), 7, 1e-9);
}

TEST(SpeedupTest, InterpolatesAndStaysFlatAfterTheLastPoint) {
  ServiceProfile p;
  p.batching = {{3, 2.0}};
  auto t = SpeedupTable(p, 5);
  EXPECT_DOUBLE_EQ(t[0], 0);
  EXPECT_DOUBLE_EQ(t[1], 1);
  EXPECT_DOUBLE_EQ(t[2], 1.5);
  EXPECT_DOUBLE_EQ(t[5], 2.0);
}

TEST(EngineTest, EveryStrategyAccountsForEveryRequest) {
  Scenario s = Tiny();
  auto requests = GenerateTraffic(s);
  ASSERT_GT(requests.size(), 1000u);
  for (StrategyKind k : s.strategies) {
    auto r = RunStrategy(s, requests, k);
    ASSERT_TRUE(r.ok()) << StrategyName(k) << ": " << r.status().ToString();
    EXPECT_EQ(r->requests, static_cast<int64_t>(requests.size()));
    EXPECT_EQ(r->completed + r->rejected, r->requests) << StrategyName(k);
    EXPECT_GT(r->cost, 0);
    EXPECT_LE(r->mean_memory_util, 1.0);
    EXPECT_LE(r->mean_compute_util, 1.0 + 1e-9);
    EXPECT_GE(r->slo_attainment, 0.5) << StrategyName(k);
  }
}

TEST(EngineTest, DeterministicForASeed) {
  Scenario s = Tiny();
  auto a = Simulate(s);
  auto b = Simulate(s);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->results.size(), b->results.size());
  for (size_t i = 0; i < a->results.size(); ++i) {
    EXPECT_EQ(a->results[i].cost, b->results[i].cost);
    EXPECT_EQ(a->results[i].ttft_p99_s, b->results[i].ttft_p99_s);
    EXPECT_EQ(a->results[i].cold_starts, b->results[i].cold_starts);
    EXPECT_EQ(a->results[i].slo_attainment, b->results[i].slo_attainment);
  }
  s.seed = 12;
  auto c = Simulate(s);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->requests == a->requests && c->results[0].ttft_p99_s == a->results[0].ttft_p99_s, true);
}

TEST(EngineTest, AutoscalingScalesToZeroAndBackWithColdStarts) {
  Scenario s = Tiny();
  auto requests = GenerateTraffic(s);
  auto r = RunStrategy(s, requests, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->cold_starts, 0);
  EXPECT_GT(r->held, 0);  // model a at zero copies between bursts
  int max_a = 0, min_a = 1 << 20;
  for (const auto& per_model : r->model_copies) {
    max_a = std::max(max_a, per_model[0]);
    min_a = std::min(min_a, per_model[0]);
  }
  EXPECT_EQ(min_a, 0);
  EXPECT_GT(max_a, 1);
  // Cheaper than copies sized for the peak on their own nodes.
  auto d = RunStrategy(s, requests, StrategyKind::kDedicated);
  ASSERT_TRUE(d.ok());
  EXPECT_LT(r->cost, d->cost);
}

TEST(EngineTest, AFullFleetRefusesCopiesWithoutOverCommitOrLosingRequests) {
  // One node of two devices: far too small for the dedicated peak sizing.
  Scenario s = Tiny(/*max_nodes=*/1);
  auto requests = GenerateTraffic(s);
  auto r = RunStrategy(s, requests, StrategyKind::kDedicated);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->placement_refusals, 0);
  EXPECT_EQ(r->completed + r->rejected, r->requests);
  EXPECT_LE(r->peak_nodes, 2);  // one per model's own pool at most
  for (const Sample& x : r->samples) EXPECT_LE(x.memory_util, 1.0);
}

TEST(EngineTest, LowerBoundIsBelowEveryStrategy) {
  Scenario s = Tiny();
  auto rep = Simulate(s);
  ASSERT_TRUE(rep.ok());
  EXPECT_GT(rep->lower_bound.cost, 0);
  for (const auto& r : rep->results) EXPECT_GT(r.cost, rep->lower_bound.cost);
}

}  // namespace
}  // namespace cohost::sim

namespace cohost::sim {
namespace {

// One device: a low-priority model busy early then idle (not yet scaled to zero) holds it when a
// high-priority model's first request arrives; the live eviction policy makes room.
TEST(EngineTest, HighPriorityColdStartEvictsAnIdleLowPriorityCopy) {
  auto s = ParseScenario(R"(name: evict
duration_h: 0.25
fleet:
  node_types:
    - { name: n, devices: 1, device_memory_gb: 10, price_per_hour: 1, max_nodes: 1 }
models:
  - name: low
    size_gb: 6
    reservation: { accelerators: 1, memory_gb: 8 }
    priority: 10
    traffic: { rate_per_s: 0 }
    scaling: { min: 0, max: 1, scale_to_zero_after_s: 3600 }
  - name: high
    size_gb: 6
    reservation: { accelerators: 1, memory_gb: 8 }
    priority: 90
    traffic: { rate_per_s: 0 }
    scaling: { min: 0, max: 1 }
strategies: [inference_components]
)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Request> trace;
  for (int i = 0; i < 5; ++i) trace.push_back({1.0 + i, 0, 50, 10});
  trace.push_back({300.0, 1, 50, 10});
  auto r = RunStrategy(*s, trace, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->evictions, 1);
  EXPECT_EQ(r->completed, 6);
  EXPECT_EQ(r->rejected, 0);
}

}  // namespace
}  // namespace cohost::sim

namespace cohost::sim {
namespace {

// A model scaled to zero whose copy loads for longer than the hold timeout: held requests past
// the timeout are rejected; beyond max_held_per_model they are rejected at once. Nothing is lost.
TEST(EngineTest, HeldRequestsAreBoundedAndTimeOut) {
  auto s = ParseScenario(R"(name: hold
duration_h: 0.5
holding: { max_held_per_model: 2, timeout_s: 60 }
fleet:
  node_types:
    - { name: n, devices: 1, device_memory_gb: 10, price_per_hour: 1 }
models:
  - name: slow
    size_gb: 6
    reservation: { accelerators: 1, memory_gb: 8 }
    load_time_s: 100
    traffic: { rate_per_s: 0 }
    scaling: { min: 0, max: 1, scale_to_zero_after_s: 5 }
strategies: [inference_components]
)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Request> trace;
  // The copy it starts with goes to zero after 5 idle seconds; then 2 are held, 3 refused.
  for (int i = 0; i < 5; ++i) trace.push_back({30.0 + 0.1 * i, 0, 50, 10});
  auto r = RunStrategy(*s, trace, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->held, 2);
  EXPECT_EQ(r->rejected, 5);  // 3 over the bound + 2 past the 60 s timeout (copy ready at 130 s)
  EXPECT_EQ(r->completed, 0);
  EXPECT_EQ(r->cold_starts, 1);
  EXPECT_EQ(r->slo_attainment, 0);
  EXPECT_EQ(r->model_copies.front()[0], 1);  // the copy it started with
}

}  // namespace
}  // namespace cohost::sim

namespace cohost::sim {
namespace {

// Issue 13 in the simulator: one device shared by big (1 copy, max 3), tiny (min 1) and lazy
// (min 0, at zero after 60 s idle), all of priority 50 unless `lazy_priority` says otherwise. Model
// indices: big 0, tiny 1, lazy 2. Big's scale-in cooldown (600 s) keeps its extra copies long
// after a burst.
Scenario SharedDevice(int lazy_priority = 50) {
  auto s = ParseScenario(R"(name: reclaim
duration_h: 0.25
holding: { timeout_s: 300 }
fleet:
  node_types:
    - { name: n, devices: 1, device_memory_gb: 10, price_per_hour: 1, max_nodes: 1 }
models:
  - name: big
    size_gb: 1
    reservation: { accelerators: 0.25, memory_gb: 2 }
    load_time_s: 5
    traffic: { rate_per_s: 0 }
    scaling: { target: 1, min: 1, max: 3, scale_in_cooldown_s: 600, reclaim_after_idle_s: 10 }
  - name: tiny
    size_gb: 1
    reservation: { accelerators: 0.25, memory_gb: 2 }
    traffic: { rate_per_s: 0 }
    scaling: { min: 1, max: 1 }
  - name: lazy
    size_gb: 1
    reservation: { accelerators: 0.25, memory_gb: 2 }
    load_time_s: 5
    priority: )" + std::to_string(lazy_priority) + R"(
    ttft_slo_s: 10
    traffic: { rate_per_s: 0 }
    scaling: { min: 0, max: 1, scale_to_zero_after_s: 60 }
strategies: [inference_components]
)");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// A burst for big at 100 s: six requests of `output_tokens` each (50 tokens/s alone) scale it to
// three copies, filling the room lazy freed at zero.
std::vector<Request> Burst(double at, int output_tokens) {
  std::vector<Request> trace;
  for (int i = 0; i < 6; ++i) trace.push_back({at + 0.1 * i, 0, 50, output_tokens});
  return trace;
}

TEST(EngineTest, AColdRequestReclaimsAnIdleEqualPriorityCopyAndTheOwnerDoesNotTakeItBack) {
  Scenario s = SharedDevice();
  std::vector<Request> trace = Burst(100, 100);
  trace.push_back({5, 2, 50, 10});     // lazy's first copy serves, then goes to zero at ~70 s
  trace.push_back({300, 2, 50, 10});   // cold: big's extra copies have idled since ~115 s
  for (const Request& r : Burst(320, 1000)) trace.push_back(r);  // big wants 3 copies again
  std::sort(trace.begin(), trace.end(),
            [](const Request& a, const Request& b) { return a.arrival_s < b.arrival_s; });
  auto r = RunStrategy(s, trace, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->completed, static_cast<int64_t>(trace.size()));
  EXPECT_EQ(r->rejected, 0);
  // One of big's copies went for lazy, once; big's second burst did not reclaim lazy's copy
  // (big had copies: only a model with none reclaims from an equal).
  EXPECT_EQ(r->evictions, 1);
  EXPECT_EQ(r->reclaims, 1);
  EXPECT_EQ(r->models[0].evicted, 1);
  EXPECT_EQ(r->models[2].evicted, 0);
  EXPECT_GT(r->placement_refusals, 0);  // big's third copy in the second burst
  // Lazy's cold request met its 10 s TTFT (a 5 s load), not big's 600 s scale-in cooldown (as did
  // its first, on the copy it started with).
  EXPECT_EQ(r->models[2].held, 1);
  EXPECT_EQ(r->models[2].slo_attainment, 1.0);
}

TEST(EngineTest, AColdRequestDoesNotReclaimFromAHigherPriorityModel) {
  Scenario s = SharedDevice(/*lazy_priority=*/40);
  std::vector<Request> trace = Burst(100, 100);
  trace.insert(trace.begin(), Request{5, 2, 50, 10});
  trace.push_back({300, 2, 50, 10});
  auto r = RunStrategy(s, trace, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->evictions, 0);
  EXPECT_EQ(r->models[2].rejected, 1);  // held until the 300 s timeout: big keeps its copies
}

// Big's three copies all serve long requests when lazy's request comes: none is taken while
// busy; once they finish and idle for reclaim_after_idle_s, one is reclaimed and lazy is served.
TEST(EngineTest, ACopyServingRequestsIsNotReclaimed) {
  Scenario s = SharedDevice();
  std::vector<Request> trace = Burst(100, 100);                      // scales big to 3
  trace.insert(trace.begin(), Request{5, 2, 50, 10});
  // Six long requests: two per copy, ~100 s.
  for (int i = 0; i < 6; ++i) trace.push_back({120.0 + 0.1 * i, 0, 50, 2500});
  trace.push_back({130, 2, 50, 10});
  auto r = RunStrategy(s, trace, StrategyKind::kInferenceComponents);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->completed, static_cast<int64_t>(trace.size()));  // big's long requests included
  EXPECT_EQ(r->reclaims, 1);
  EXPECT_EQ(r->models[2].rejected, 0);
  // Its first request (on the copy it started with) met the 10 s TTFT; the second waited for
  // big's requests (~100 s).
  EXPECT_EQ(r->models[2].slo_attainment, 0.5);
  // A bound on how long: big's copies finish at ~220 s, idle 10 s, the tick, a 5 s load.
  EXPECT_LT(r->ttft_p99_s, 130.0);
}

}  // namespace
}  // namespace cohost::sim
