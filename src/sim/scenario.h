// Scenario: the fleet, the models, their traffic and the strategies one simulation compares.
//
// A scenario is read from YAML (see docs/simulate.md for every field). Parsing validates
// everything the engine relies on, so the engine never meets a bad value: errors are
// InvalidArgument with the field path ("models[2].reservation.memory_gb") as the status field and
// "line N: " (1-based, the YAML line) at the start of the message.
//
// Thread safety: plain values; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost::sim {

// One kind of machine the fleet may use.
struct NodeType {
  std::string name;
  int devices = 8;               // accelerators per node
  int64_t device_memory_mib = 0; // per device
  double cpu_cores = 96;         // per node
  double price_per_hour = 0;     // per node
  int min_nodes = 0;             // shared strategies keep at least this many running
  int max_nodes = 1000;          // at most this many at once, per strategy
};

// How one model's copies serve requests. Work for a request, in "seconds at batch 1":
// prompt_tokens / prompt_tps + output_tokens / decode_tps. A copy with b requests in flight
// runs speedup(b) of that work per second in total, shared equally (a fluid model of continuous
// batching); speedup is piecewise linear through `batching` (batch, aggregate speedup) points,
// with (1, 1) implied and flat beyond the last point.
struct ServiceProfile {
  double prompt_tps = 2000;  // prompt tokens per second, one request alone
  double decode_tps = 50;    // output tokens per second, one request alone
  std::vector<std::pair<int, double>> batching;  // (batch size, aggregate speedup), increasing
};

enum class TrafficPattern {
  kPoisson,  // constant rate
  kBursty,   // on/off: rate * burst_factor for on_s, then a low rate for off_s, mean preserved
  kDiurnal,  // rate * (1 + amplitude * cos(2 pi (h - peak_hour) / 24)), mean preserved
};

// "poisson", "bursty", "diurnal".
const char* TrafficPatternName(TrafficPattern pattern);

struct ModelTraffic {
  double rate_per_s = -1;  // mean arrivals per second; < 0: a Zipf share of traffic.total_rate_per_s
  TrafficPattern pattern = TrafficPattern::kPoisson;
  double on_s = 300;          // bursty: length of a burst
  double off_s = 1500;        // bursty: length of the quiet part
  double burst_factor = 5;    // bursty: on-rate / mean rate (the off-rate keeps the mean)
  double peak_hour = 14;      // diurnal
  double amplitude = 0.6;     // diurnal, in [0, 1]
  int prompt_tokens = 512;    // mean; drawn uniformly in [mean/2, 3*mean/2]
  int output_tokens = 128;    // mean; as above
};

struct ScalingSettings {
  double target = 4;           // concurrent requests per copy
  int min_copies = 0;
  int max_copies = 16;
  double scale_out_cooldown_s = 10;
  double scale_in_cooldown_s = 120;
  double stabilization_window_s = 60;
  double scale_to_zero_after_s = 600;
  // A ready copy idle this long may be reclaimed by a cold model of equal priority
  // (policy/eviction.h; the component field scaling.reclaim_after_idle_s).
  double reclaim_after_idle_s = 10;
};

struct ModelSpec {
  std::string name;
  int line = 0;                   // where it is declared in the YAML, for messages
  int64_t size_mib = 0;           // weights
  double accelerators = 1;        // per copy, shared strategies: a share (< 1) or whole devices
  int64_t memory_mib = 0;         // reservation per device, per copy
  double cpu_cores = 1;           // per copy
  int parallel = 8;               // request slots per copy (continuous batching)
  double load_time_s = 30;        // cold start: placement to ready
  ServiceProfile profile;
  ModelTraffic traffic;
  ScalingSettings scaling;
  bool dedicated_in_hybrid = false;  // the hybrid strategy gives this model its own nodes
  int priority = 50;              // 0..100: eviction (policy/eviction.h): may evict idle copies of
                                  // lower-priority models, and reclaim long-idle ones of equal
                                  // priority when it has requests held and no copy
  double ttft_slo_s = 0;          // 0: the scenario default
  double itl_slo_s = 0;
};

enum class StrategyKind {
  kDedicated,            // one endpoint per model on its own nodes, copies sized for the peak
  kSharedStatic,         // one shared endpoint, copies sized for the peak, packed by reservation
  kInferenceComponents,  // shared endpoint, per-model autoscaling down to zero, nodes follow copies
  kHybrid,               // models marked dedicated as in kDedicated, the rest as in kInference...
};

// "dedicated", "shared_static", "inference_components", "hybrid".
const char* StrategyName(StrategyKind kind);
// InvalidArgument naming `field` for anything else.
StatusOr<StrategyKind> ParseStrategy(std::string_view text, std::string_view field = "strategies");

struct Scenario {
  std::string name;
  double duration_s = 86400;
  uint64_t seed = 1;
  double ttft_slo_s = 2;       // default per-model SLOs
  double itl_slo_s = 0.2;
  double autoscale_tick_s = 10;
  double sample_s = 300;       // copies/utilisation samples for the report
  double peak_window_s = 60;   // dedicated/static sizing: peak arrivals in this window
  double peak_headroom = 0.8;  // dedicated/static sizing: plan copies to run at this load
  int max_held_per_model = 1000;
  double hold_timeout_s = 120;
  double total_rate_per_s = 0;  // traffic shared by models without their own rate
  double zipf_s = 1.0;          // Zipf exponent of that share (rank = order among those models)
  std::string trace_path;       // CSV trace; replaces synthetic traffic when set
  std::vector<NodeType> node_types;
  std::vector<ModelSpec> models;
  std::vector<StrategyKind> strategies;

  // Index of the model named `name`, or -1.
  int FindModel(std::string_view name) const;
};

// Parses YAML text. `base_dir` resolves a relative trace path. Errors as described above; a model
// whose reservation fits no node type is an error, as are unknown keys.
StatusOr<Scenario> ParseScenario(std::string_view yaml_text, const std::string& base_dir = ".");
// Reads and parses a file. NotFound when it cannot be read.
StatusOr<Scenario> LoadScenario(const std::string& path);

}  // namespace cohost::sim
