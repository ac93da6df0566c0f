// The names of cohost's metrics (Prometheus conventions: snake_case, a cohost_ prefix, base
// units in the name, _total for counters) and one place that declares them all with their help.
// docs/metrics.md lists them with their labels.
#pragma once

#include "core/metrics.h"

namespace cohost::metric {

// Router, per component (label component; requests_total also outcome). Prompt and generated
// tokens come from the runners' counters (GET /stats, scraped about once a second), so streamed
// and whole answers count alike.
inline constexpr char kRequestsTotal[] = "cohost_requests_total";  // outcome: ok|error|rejected|hold_timeout|cancelled
inline constexpr char kRequestsInFlight[] = "cohost_requests_in_flight";
inline constexpr char kRequestsHeld[] = "cohost_requests_held";    // waiting for a cold start
inline constexpr char kHeldTotal[] = "cohost_requests_held_total";
inline constexpr char kTimeToFirstToken[] = "cohost_time_to_first_token_seconds";
inline constexpr char kInterTokenLatency[] = "cohost_inter_token_latency_seconds";
inline constexpr char kRequestDuration[] = "cohost_request_duration_seconds";
inline constexpr char kHoldDuration[] = "cohost_hold_duration_seconds";
inline constexpr char kPromptTokensTotal[] = "cohost_prompt_tokens_total";
inline constexpr char kGeneratedTokensTotal[] = "cohost_generated_tokens_total";

// Node controller, per component (label component).
inline constexpr char kCopiesDesired[] = "cohost_copies_desired";
inline constexpr char kCopiesReady[] = "cohost_copies_ready";
inline constexpr char kCopiesLoading[] = "cohost_copies_loading";
inline constexpr char kScalingEventsTotal[] = "cohost_scaling_events_total";  // direction: out|in
inline constexpr char kEvictionsTotal[] = "cohost_evictions_total";

// Per copy (labels component, copy).
inline constexpr char kCopyInFlight[] = "cohost_copy_requests_in_flight";
// From each ready copy's runner (GET /stats), scraped about once a second.
inline constexpr char kCopyBusySlots[] = "cohost_copy_busy_slots";
inline constexpr char kCopySlots[] = "cohost_copy_slots";
inline constexpr char kCopyQueued[] = "cohost_copy_queued_requests";
inline constexpr char kCopyKvCellsUsed[] = "cohost_copy_kv_cells_used";

// Per device (labels device, virtual).
inline constexpr char kDeviceMemoryBytes[] = "cohost_device_memory_bytes";
inline constexpr char kDeviceMemoryReservedBytes[] = "cohost_device_memory_reserved_bytes";
// What the ready copies' runners hold (model, KV cache, compute buffers, from llama.cpp's own
// buffers via /stats); a copy on several devices counts on each in proportion to its reservation.
inline constexpr char kDeviceMemoryUsedBytes[] = "cohost_device_memory_used_bytes";
inline constexpr char kDeviceAcceleratorsReserved[] = "cohost_device_accelerators_reserved";
inline constexpr char kDeviceReservations[] = "cohost_device_reservations";

// Loads, per component: seconds from placing a copy to its runner answering ready.
inline constexpr char kCopyLoadSeconds[] = "cohost_copy_load_seconds";
// Loads in progress, per copy (labels component, copy): bytes of tensor data loaded so far and
// in all, from the runner's progress lines (streamed loads); gone once the copy is ready.
inline constexpr char kCopyLoadProgressBytes[] = "cohost_copy_load_progress_bytes";
inline constexpr char kCopyLoadTotalBytes[] = "cohost_copy_load_total_bytes";
// Loads, per component: bytes of model files of copies that became ready.
inline constexpr char kCopyLoadBytesTotal[] = "cohost_copy_load_bytes_total";

// Declares every family above in `registry` (idempotent).
void DeclareAll(MetricsRegistry& registry);

}  // namespace cohost::metric
