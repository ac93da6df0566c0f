// WarmUpDevices: brings every GPU of this process up before a model is loaded: the runtime's
// context, device and pinned allocations, and one matrix product on the device's BLAS path (on
// CUDA: cuBLAS), so a model loaded afterwards finds the driver, the context and the libraries'
// kernels ready. What is allocated is freed again; the runtime's primary context stays. Used by
// standby runners (runner/standby.h). Call after InitLlamaRuntime(). No-op without a GPU.
//
// Thread safety: call from one thread; not concurrently with model loads.
#pragma once

namespace cohost::engine {

// Returns the number of GPUs brought up. Logs each one's time.
int WarmUpDevices();

}  // namespace cohost::engine
