// Engine: a discrete-event simulation of one strategy over a day of requests.
//
// Events (a priority queue ordered by time, then by insertion, so a seed gives one result):
// arrivals (read in order from the request list), copy completions, copies becoming ready after
// their load time, autoscaler ticks and report samples. Decisions come from the live policy code:
// placement from policy/placement.h (PlaceCopy/ApplyAssignment/ReleaseAssignment on a
// NodeSnapshot per node), eviction from policy/eviction.h (PlanEviction, when an autoscaled copy
// fits nowhere and no node can be started: idle lower-priority copies, or for a model with
// requests held and no copy, equal-priority copies idle past their reclaim_after_idle_s), copy
// choice from policy/routing.h (least outstanding), scaling from a ScaleDecider
// (sim/scale_decider.h).
//
// Guarantees checked by the engine itself (an Internal error if broken): every request ends
// completed or rejected; no device or node is ever over-committed (placement's ApplyAssignment
// refuses it).
//
// Thread safety: RunStrategy is a pure function of its arguments; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "sim/scenario.h"
#include "sim/traffic.h"

namespace cohost::sim {

struct Sample {
  double t_s = 0;
  int copies = 0;        // placed copies (loading, ready or draining)
  int ready_copies = 0;
  int nodes = 0;         // nodes running (billed)
  double memory_util = 0;   // reserved / total memory of running nodes' devices
  double compute_util = 0;  // busy device share / devices of running nodes
};

// One model's share of a strategy's result.
struct ModelResult {
  int64_t requests = 0;
  int64_t rejected = 0;
  int64_t held = 0;
  int64_t cold_starts = 0;
  double slo_attainment = 0;  // as StrategyResult's, over this model's requests
  int peak_copies = 0;
  int64_t evicted = 0;  // copies of this model evicted for another
};

struct StrategyResult {
  StrategyKind kind = StrategyKind::kDedicated;
  std::string scaler;  // which ScaleDecider ran ("" when none did)
  int64_t requests = 0;
  int64_t completed = 0;
  int64_t rejected = 0;        // hold queue full or held past the hold timeout
  int64_t held = 0;            // requests that waited for a copy to load
  int64_t cold_starts = 0;     // copies loaded after the start
  int64_t placement_refusals = 0;  // copies that fit nowhere when wanted
  int64_t evictions = 0;           // idle copies of other models stopped to make room
  int64_t reclaims = 0;            // of those, equal-priority copies reclaimed for a cold model
  double device_hours = 0;
  double cost = 0;
  double slo_attainment = 0;   // share of requests meeting both TTFT and ITL SLOs (rejected miss)
  double ttft_attainment = 0;
  double itl_attainment = 0;
  double ttft_p50_s = 0, ttft_p99_s = 0;
  double itl_p50_s = 0, itl_p99_s = 0;
  double e2e_p50_s = 0, e2e_p90_s = 0, e2e_p99_s = 0;
  double mean_memory_util = 0;
  double mean_compute_util = 0;
  int peak_copies = 0;
  int peak_nodes = 0;
  std::vector<Sample> samples;
  std::vector<std::vector<int>> model_copies;  // per sample, per model: placed copies
  std::vector<ModelResult> models;             // per model, in scenario order
  double wall_s = 0;  // real time the run took
};

// Work-based lower bound: every request's work at full batching on its reservation's device
// share, summed, in device-hours; and that at the cheapest device-hour price.
struct LowerBound {
  double device_hours = 0;
  double cost = 0;
};
LowerBound ComputeLowerBound(const Scenario& scenario, const std::vector<Request>& requests);

// Copies each model gets when sized for its peak (dedicated and shared_static): the peak arrival
// rate over scenario.peak_window_s windows divided by peak_headroom x one copy's throughput at
// full batching, at least 1 for a model with traffic, 0 without.
std::vector<int> PeakCopies(const Scenario& scenario, const std::vector<Request>& requests);

// Runs one strategy. `requests` sorted by arrival (as traffic.h returns them).
// InvalidArgument when a request names a model outside the scenario; Internal when an engine
// invariant breaks (a bug).
StatusOr<StrategyResult> RunStrategy(const Scenario& scenario, const std::vector<Request>& requests,
                                     StrategyKind kind);

}  // namespace cohost::sim
