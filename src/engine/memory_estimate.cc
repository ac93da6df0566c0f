#include "engine/memory_estimate.h"

#include <ggml-backend.h>
#include <llama-ext.h>
#include <llama.h>

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
  return MeasureContext(ctx.get());
}

}  // namespace cohost::engine
