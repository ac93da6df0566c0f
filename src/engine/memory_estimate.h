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
#include <vector>

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
  uint64_t n_params = 0;                           // the model's parameters (EstimateMemory only)
};

// Errors: as Model::Load for a bad file; kResourceExhausted/kInvalidArgument from the options.
StatusOr<MemoryEstimate> EstimateMemory(const ModelOptions& model, SchedulerOptions options);

// What one copy needs for each of several slot counts (the right-sizer's memory table).
struct SlotsNeed {
  int slots = 0;              // parallel slots of `context` tokens each
  MemoryBreakdown breakdown;  // weights + KV (context × slots) + compute, over every device
};
struct MemoryPlan {
  int context = 0;                  // tokens per slot
  uint64_t weights_bytes = 0;       // the same for every slot count
  uint64_t n_params = 0;            // the model's parameters
  double kv_bytes_per_token = 0;    // KV cache per token of context (K and V, every layer)
  std::vector<SlotsNeed> by_slots;  // in the order asked
};

// One dry run per entry of `slots` (each >= 1) with options.parallel set to it and options.batch
// raised to at least it, as the control plane measures a component's need.
// Errors: as EstimateMemory; kInvalidArgument (field "slots") for an empty list or a value < 1.
StatusOr<MemoryPlan> PlanMemory(const ModelOptions& model, SchedulerOptions options,
                                const std::vector<int>& slots);

// The breakdown of a live context (what it actually allocated), for comparison and metrics.
// REQUIRES: ctx was created by llama_init_from_model.
MemoryEstimate MeasureContext(const struct llama_context* ctx);

}  // namespace cohost::engine
