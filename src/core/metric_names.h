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

// Per copy and device (labels component, copy, device): what the copy reserves there (its
// memory_mib plus the device's per-process overhead) and what its runner process really holds
// there (NVML on CUDA; the process's VmRSS on virtual devices and the host), measured about once
// a second while it has a process.
inline constexpr char kCopyMemoryReservedBytes[] = "cohost_copy_memory_reserved_bytes";
inline constexpr char kCopyMemoryUsedBytes[] = "cohost_copy_memory_used_bytes";
// Per copy (labels component, copy): llama.cpp's own buffers in the runner (weights, KV cache,
// compute; runner /stats), what the dry run predicted.
inline constexpr char kCopyMemoryBuffersBytes[] = "cohost_copy_memory_buffers_bytes";
// Per component: times a copy's measured use rose above its reservation (once per excursion).
inline constexpr char kCopyMemoryOverReservationTotal[] = "cohost_copy_memory_over_reservation_total";

// Per device (labels device, virtual).
inline constexpr char kDeviceMemoryBytes[] = "cohost_device_memory_bytes";
inline constexpr char kDeviceMemoryReservedBytes[] = "cohost_device_memory_reserved_bytes";
// What the copies' runner processes hold on the device, measured (the sum of
// cohost_copy_memory_used_bytes over the device's copies).
inline constexpr char kDeviceMemoryUsedBytes[] = "cohost_device_memory_used_bytes";
// What the driver reports in use on the device by every process (CUDA devices with NVML only).
inline constexpr char kDeviceMemoryDriverUsedBytes[] = "cohost_device_memory_driver_used_bytes";
// The per-process overhead every copy on the device reserves on top of its memory_mib.
inline constexpr char kDeviceProcessOverheadBytes[] = "cohost_device_process_overhead_bytes";
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

// The event log (control/event_log.h): event writes the store refused (a full disk, a read-only
// file system), events kept in memory until the store takes them, and those dropped because
// that queue was full.
inline constexpr char kEventWriteFailuresTotal[] = "cohost_event_write_failures_total";
inline constexpr char kEventsPending[] = "cohost_events_pending";
inline constexpr char kEventsDroppedTotal[] = "cohost_events_dropped_total";

// Declares every family above in `registry` (idempotent).
void DeclareAll(MetricsRegistry& registry);

}  // namespace cohost::metric
