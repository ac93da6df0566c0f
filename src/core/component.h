// Endpoints and inference components: the desired state users declare (DESIGN.md, API shapes).
//
// Parsing is strict, as a control API should be: unknown fields, wrong types, names that are not
// DNS-like, negative sizes and inconsistent copy bounds are refused with the field named
// ("copies.max", "compute.accelerators", ...). Omitted fields take the defaults below.
// Pure: no I/O. Thread safety: values.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/requirements.h"
#include "core/status.h"

namespace cohost {

enum class EndpointKind {
  kShared,     // inference components share the endpoint's devices
  kDedicated,  // one model owns the devices
};

enum class RoutingStrategy {
  kLeastOutstanding,  // the copy with the fewest requests in flight (default)
  kRandom,
};

struct Endpoint {
  std::string name;
  EndpointKind kind = EndpointKind::kShared;
  RoutingStrategy routing = RoutingStrategy::kLeastOutstanding;
};

struct StartupParams {
  int context_length = 2048;  // tokens per slot
  int parallel = 4;           // slots per copy
  // How the runner loads the model (docs/loader.md): "auto" (mmap for local files), "mmap",
  // "read" or "stream" (parallel chunked reads, with load progress in events and /metrics).
  std::string load_mode = "auto";
};

struct CopyBounds {
  int initial = 1;
  int min = 0;
  int max = 4;
};

enum class ScalingMetric {
  kConcurrentRequestsPerCopy,  // default
  kInvocationsPerCopyPerMinute,
  kQueueDepth,
};

// One step of step scaling: while the metric is in [lower, upper), change the copy count by
// `adjustment` (positive: add copies; negative: remove). Steps must not overlap.
struct ScalingStep {
  double lower = 0;                                          // inclusive
  double upper = std::numeric_limits<double>::infinity();   // exclusive; infinity when omitted
  int adjustment = 0;

  bool operator==(const ScalingStep&) const = default;
};

// How a component's copy count follows its traffic (src/policy/autoscale.h has the rules).
// Target tracking by default; with `steps` non-empty, step scaling on the same metric.
struct ScalingPolicy {
  ScalingMetric metric = ScalingMetric::kConcurrentRequestsPerCopy;
  double target = 4;               // target tracking: the metric's target value per copy
  std::vector<ScalingStep> steps;  // step scaling, when non-empty (then `target` is unused)
  int scale_out_cooldown_s = 10;   // after a scale-out, no further scale-out for this long
  int scale_in_cooldown_s = 120;   // after any scaling, no scale-in for this long
  int stabilization_window_s = 60; // scale-in goes only to the highest recommendation in this window
  int scale_to_zero_after_s = 600; // only with copies.min == 0: idle this long -> zero copies
  // Requests held while the component has no ready copy (cold start):
  int max_held_requests = 64;      // beyond this, 503 with Retry-After
  int hold_timeout_s = 60;         // a held request waits at most this long, then 503
  // A ready copy above copies.min that has served nothing for this long may be reclaimed by a
  // cold request of a component of equal priority (src/policy/eviction.h). Lower-priority
  // copies go at once; this keeps two equals from taking a device back and forth.
  int reclaim_after_idle_s = 10;

  bool step_scaling() const { return !steps.empty(); }
};

struct InferenceComponent {
  std::string name;
  std::string endpoint;
  std::string model_uri;  // a file path or file:// URI for now
  Requirements compute;
  StartupParams startup;
  CopyBounds copies;
  ScalingPolicy scaling;
  int priority = 50;  // 0..100; higher is more important (eviction)
  PlacementStrategy placement = PlacementStrategy::kBinpack;
};

// OK when `name` is DNS-like: 1-63 characters of a-z, 0-9 and '-', starting with a letter and not
// ending with '-'. Otherwise InvalidArgument naming `field`.
Status ValidateName(std::string_view name, std::string_view field = "name");

// Parse and validate. Errors name the field.
StatusOr<Endpoint> ParseEndpoint(const nlohmann::json& body);
StatusOr<InferenceComponent> ParseInferenceComponent(const nlohmann::json& body);

// Applies a partial update (the fields present in `patch`) to `current`. Changing `name` or
// `endpoint` is refused. Errors name the field.
StatusOr<InferenceComponent> UpdateInferenceComponent(const InferenceComponent& current,
                                                      const nlohmann::json& patch);

// Full JSON forms (every field, defaults included), as the API returns them.
nlohmann::json ToJson(const Endpoint& endpoint);
nlohmann::json ToJson(const InferenceComponent& component);

const char* EndpointKindName(EndpointKind kind);
const char* RoutingStrategyName(RoutingStrategy routing);
const char* ScalingMetricName(ScalingMetric metric);

}  // namespace cohost
