#include "core/metric_names.h"

namespace cohost::metric {

void DeclareAll(MetricsRegistry& r) {
  const auto kC = MetricType::kCounter;
  const auto kG = MetricType::kGauge;
  const auto kH = MetricType::kHistogram;
  const auto lat = MetricsRegistry::LatencyBuckets();
  r.Declare(kRequestsTotal, kC, "Inference requests answered, by component and outcome.");
  r.Declare(kRequestsInFlight, kG, "Inference requests being served by a copy now.");
  r.Declare(kRequestsHeld, kG, "Requests held while the component has no ready copy (cold start).");
  r.Declare(kHeldTotal, kC, "Requests that were held for a cold start.");
  r.Declare(kTimeToFirstToken, kH, "Seconds from a request's arrival to its first response byte.", lat);
  r.Declare(kInterTokenLatency, kH, "Seconds between two streamed chunks of one response.",
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  r.Declare(kRequestDuration, kH, "Seconds from a request's arrival to the end of its response.", lat);
  r.Declare(kHoldDuration, kH, "Seconds a request was held for a cold start.", lat);
  r.Declare(kPromptTokensTotal, kC, "Prompt tokens of finished requests (runner counters).");
  r.Declare(kGeneratedTokensTotal, kC, "Generated tokens (runner counters; streamed and whole answers).");
  r.Declare(kCopiesDesired, kG, "Copies the autoscaler wants.");
  r.Declare(kCopiesReady, kG, "Copies serving.");
  r.Declare(kCopiesLoading, kG, "Copies placed and loading.");
  r.Declare(kScalingEventsTotal, kC, "Autoscaler changes of the desired copy count.");
  r.Declare(kEvictionsTotal, kC, "Copies evicted to make room for a higher-priority component.");
  r.Declare(kCopyInFlight, kG, "Requests in flight on one copy.");
  r.Declare(kCopyBusySlots, kG, "Slots of a copy's runner decoding a request (runner /stats).");
  r.Declare(kCopySlots, kG, "Slots of a copy's runner (runner /stats).");
  r.Declare(kCopyQueued, kG, "Requests a copy's runner holds waiting for a slot (runner /stats).");
  r.Declare(kCopyKvCellsUsed, kG, "KV cache cells in use in a copy's runner (runner /stats).");
  r.Declare(kDeviceMemoryBytes, kG, "Device memory.");
  r.Declare(kDeviceMemoryReservedBytes, kG, "Device memory reserved by copies.");
  r.Declare(kCopyLoadProgressBytes, kG, "Tensor bytes a loading copy has loaded so far (streamed loads).");
  r.Declare(kCopyLoadTotalBytes, kG, "Tensor bytes a loading copy loads in all (streamed loads).");
  r.Declare(kDeviceMemoryUsedBytes, kG, "Device memory the copies' runner processes hold (measured).");
  r.Declare(kDeviceMemoryDriverUsedBytes, kG, "Device memory in use by every process, as the driver reports it (CUDA).");
  r.Declare(kDeviceProcessOverheadBytes, kG, "Per-process device memory every copy reserves besides its model's buffers.");
  r.Declare(kCopyMemoryReservedBytes, kG, "Memory a copy reserves on a device (its need plus the per-process overhead).");
  r.Declare(kCopyMemoryUsedBytes, kG, "Memory a copy's runner process holds on a device (measured).");
  r.Declare(kCopyMemoryBuffersBytes, kG, "llama.cpp buffers of a copy's runner (weights, KV cache, compute; runner /stats).");
  r.Declare(kCopyMemoryOverReservationTotal, kC, "Times a copy's measured memory rose above its reservation.");
  r.Declare(kDeviceAcceleratorsReserved, kG, "Accelerator share reserved by copies (0..1).");
  r.Declare(kDeviceReservations, kG, "Copies holding a reservation on the device.");
  r.Declare(kCopyLoadSeconds, kH, "Seconds from placing a copy to it being ready.", lat);
  r.Declare(kCopyLoadBytesTotal, kC, "Bytes of model files loaded by copies that became ready.");
  r.Declare(kEventWriteFailuresTotal, kC, "Event writes the state store refused (the events are kept and retried).");
  r.Declare(kEventsPending, kG, "Events kept in memory until the state store takes them.");
  r.Declare(kEventsDroppedTotal, kC, "Events lost because the in-memory queue of unwritten events was full.");
}

}  // namespace cohost::metric
