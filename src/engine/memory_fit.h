// Fitting a runner to its reservation (issue 3: "a runner never uses more than its reservation").
//
// The control API refuses a reservation below the copy's measured need, so a runner started with
// its component's context and slots normally fits as it is. The runner checks again before it
// allocates anything, with the same dry run: if the need is over its limit (another llama.cpp
// build, other devices), it shrinks the physical micro-batch, which sizes the compute buffers,
// until it fits; the KV cache (context × slots) is what the user asked for and is never cut.
// Thread safety: as EstimateMemory.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "engine/memory_estimate.h"
#include "engine/model.h"
#include "engine/scheduler.h"

namespace cohost::engine {

// The smallest micro-batch the fit tries.
inline constexpr int kMinFitUbatch = 32;

struct MemoryFit {
  SchedulerOptions options;  // `options` as given, or with a smaller ubatch
  MemoryBreakdown need;      // what a context of `options` allocates
  bool shrunk = false;       // ubatch was reduced
};

// Fits `options` to `limit_mib` (0: no limit; the options are only measured).
// Errors: as EstimateMemory; kResourceExhausted, field "memory_limit_mib", with the need (weights,
// KV cache, compute) at the smallest micro-batch and the limit, when even that does not fit.
StatusOr<MemoryFit> FitToMemoryLimit(const ModelOptions& model, SchedulerOptions options,
                                     int64_t limit_mib);

}  // namespace cohost::engine
