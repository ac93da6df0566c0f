#include "engine/memory_estimate.h"

#include <ggml-backend.h>
#include <llama-ext.h>
#include <llama.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "engine/context_params.h"
#include "engine/llama_runtime.h"

namespace cohost::engine {

MemoryEstimate MeasureContext(const llama_context* ctx) {
  MemoryEstimate out;
  for (const auto& [buft, mb] : llama_get_memory_breakdown(ctx)) {
    ggml_backend_dev_t dev = ggml_backend_buft_get_device(buft);
    std::string name = ggml_backend_buft_is_host(buft) || !dev ? "CPU" : ggml_backend_dev_name(dev);
    MemoryBreakdown& d = out.by_device[name];
    d.weights_bytes += mb.model;
    d.kv_bytes += mb.context;
    d.compute_bytes += mb.compute;
    out.total.weights_bytes += mb.model;
    out.total.kv_bytes += mb.context;
    out.total.compute_bytes += mb.compute;
  }
  return out;
}

StatusOr<MemoryEstimate> EstimateMemory(const ModelOptions& model, SchedulerOptions options) {
  RETURN_IF_ERROR(ValidateSchedulerOptions(options));
  if (options.threads == 0) options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  RETURN_IF_ERROR(CheckGgufFile(model.path));
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = model.gpu_layers;
  mp.no_alloc = true;
  mp.load_mode = LLAMA_LOAD_MODE_NONE;
  TakeLlamaErrors();
  std::unique_ptr<llama_model, void (*)(llama_model*)> m(
      llama_model_load_from_file(model.path.c_str(), mp), llama_model_free);
  if (!m) return DataLoss("llama.cpp could not read " + model.path + ": " + TakeLlamaErrors());
  std::unique_ptr<llama_context, void (*)(llama_context*)> ctx(
      llama_init_from_model(m.get(), MakeContextParams(options)), llama_free);
  if (!ctx) {
    return Status(StatusCode::kResourceExhausted,
                  "llama.cpp could not size a context of " + std::to_string(options.parallel) +
                      " x " + std::to_string(options.context) + " tokens: " + TakeLlamaErrors());
  }
  MemoryEstimate out = MeasureContext(ctx.get());
  out.n_params = llama_model_n_params(m.get());
  return out;
}

StatusOr<MemoryPlan> PlanMemory(const ModelOptions& model, SchedulerOptions options,
                                const std::vector<int>& slots) {
  if (slots.empty()) return InvalidArgument("slots", "expected at least one slot count");
  for (int n : slots) {
    if (n < 1) return InvalidArgument("slots", "slot counts must be >= 1, got " + std::to_string(n));
  }
  MemoryPlan plan;
  plan.context = options.context;
  for (int n : slots) {
    SchedulerOptions o = options;
    o.parallel = n;
    o.batch = std::max(o.batch, n);
    o.ubatch = std::min(o.ubatch, o.batch);
    ASSIGN_OR_RETURN(MemoryEstimate m, EstimateMemory(model, o));
    plan.by_slots.push_back({n, m.total});
    plan.weights_bytes = m.total.weights_bytes;
    plan.n_params = m.n_params;
    const double tokens = static_cast<double>(o.context) * n;
    if (n == *std::max_element(slots.begin(), slots.end())) {
      plan.kv_bytes_per_token = static_cast<double>(m.total.kv_bytes) / tokens;
    }
  }
  return plan;
}

}  // namespace cohost::engine
