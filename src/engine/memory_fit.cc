#include "engine/memory_fit.h"

#include <algorithm>

namespace cohost::engine {
namespace {

std::string Mib(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

StatusOr<MemoryFit> FitToMemoryLimit(const ModelOptions& model, SchedulerOptions options,
                                     int64_t limit_mib) {
  if (limit_mib < 0) return InvalidArgument("memory_limit_mib", "must be 0 (no limit) or more");
  MemoryFit fit;
  for (;;) {
    ASSIGN_OR_RETURN(MemoryEstimate est, EstimateMemory(model, options));
    fit.options = options;
    fit.need = est.total;
    if (limit_mib == 0 || est.total.total_mib() <= limit_mib) return fit;
    int smaller = std::max(kMinFitUbatch, options.ubatch / 2);
    if (smaller >= options.ubatch) break;
    options.ubatch = smaller;
    fit.shrunk = true;
  }
  const MemoryBreakdown& n = fit.need;
  return Status(StatusCode::kResourceExhausted,
                "the copy needs " + Mib(n.total()) + " (weights " + Mib(n.weights_bytes) + ", KV cache " +
                    Mib(n.kv_bytes) + " for context " + std::to_string(options.context) + " x " +
                    std::to_string(options.parallel) + " slots, compute " + Mib(n.compute_bytes) +
                    " at micro-batch " + std::to_string(options.ubatch) + ") but its limit is " +
                    std::to_string(limit_mib) + " MiB",
                "memory_limit_mib");
}

}  // namespace cohost::engine
