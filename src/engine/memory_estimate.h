// Memory a copy needs, measured by a llama.cpp dry run (DESIGN.md decision 3).
//
// The model and a context are created with `no_alloc`: llama.cpp sizes every buffer it would
// allocate (weights, KV cache for context × parallel slots, compute buffers) without allocating
// them or reading the weights. The context is configured exactly as the Scheduler configures it
// (context_params.h), so the figure is the runner's real need.
// Thread safety: may be called from any thread; it takes about as long as reading the header.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"
#include "engine/model.h"
#include "engine/scheduler.h"

namespace cohost::engine {

struct MemoryBreakdown {
  uint64_t weights_bytes = 0;  // model tensors
  uint64_t kv_bytes = 0;       // KV cache (context × parallel)
  uint64_t compute_bytes = 0;  // temporary compute buffers
  uint64_t total() const { return weights_bytes + kv_bytes + compute_bytes; }
  // total() in MiB, rounded up.
  int64_t total_mib() const { return static_cast<int64_t>((total() + (1 << 20) - 1) >> 20); }
};

struct MemoryEstimate {
  MemoryBreakdown total;                          // over every device and the host
  std::map<std::string, MemoryBreakdown> by_device;  // "CPU", "CUDA0", ... as ggml names them
};

// Errors: as Model::Load for a bad file; kResourceExhausted/kInvalidArgument from the options.
StatusOr<MemoryEstimate> EstimateMemory(const ModelOptions& model, SchedulerOptions options);

// The breakdown of a live context (what it actually allocated), for comparison and metrics.
// REQUIRES: ctx was created by llama_init_from_model.
MemoryEstimate MeasureContext(const struct llama_context* ctx);

}  // namespace cohost::engine
