#include "engine/device_warmup.h"

#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>

#include <chrono>

#include "core/log.h"

namespace cohost::engine {

namespace {

// One F16 x F32 matrix product big enough for the device's BLAS path (on CUDA: cuBLAS), so its
// library state and kernels are loaded before a copy's first prompt needs them.
void WarmMatMul(ggml_backend_t backend) {
  ggml_init_params p = {ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
  ggml_context* ctx = ggml_init(p);
  ggml_tensor* a = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 512, 512);
  ggml_tensor* b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 512, 64);
  ggml_tensor* c = ggml_mul_mat(ctx, a, b);
  ggml_cgraph* g = ggml_new_graph(ctx);
  ggml_build_forward_expand(g, c);
  if (ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend)) {
    ggml_backend_buffer_clear(buf, 0);
    ggml_backend_graph_compute(backend, g);
    ggml_backend_synchronize(backend);
    ggml_backend_buffer_free(buf);
  }
  ggml_free(ctx);
}

}  // namespace

// Nothing is kept: the runtime's primary context outlives the buffers and backends made here.
int WarmUpDevices() {
  int n = 0;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
    const auto t0 = std::chrono::steady_clock::now();
    ggml_backend_t backend = ggml_backend_dev_init(dev, nullptr);
    if (backend) WarmMatMul(backend);
    ggml_backend_buffer_t buf =
        ggml_backend_buft_alloc_buffer(ggml_backend_dev_buffer_type(dev), size_t{1} << 20);
    if (ggml_backend_buffer_type_t host = ggml_backend_dev_host_buffer_type(dev)) {
      if (ggml_backend_buffer_t pinned = ggml_backend_buft_alloc_buffer(host, size_t{1} << 20)) {
        ggml_backend_buffer_free(pinned);
      }
    }
    if (buf) ggml_backend_buffer_free(buf);
    if (backend) {
      ggml_backend_synchronize(backend);
      ggml_backend_free(backend);
    }
    ++n;
    log::Info("device ready", {{"device", ggml_backend_dev_name(dev)},
                               {"seconds", std::chrono::duration<double>(
                                               std::chrono::steady_clock::now() - t0)
                                               .count()}});
  }
  return n;
}

}  // namespace cohost::engine
