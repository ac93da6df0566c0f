// Staging: where one stream-loader worker lands the bytes of a chunk that must be copied into
// tensors (device tensors, and whole chunks from remote sources), and how it copies them out.
//
// On a device with pinned host buffers (CUDA), the staging buffers are pinned (the device's host
// buffer type, cudaHostAlloc through ggml) and reused, so host-to-device copies run at the link's
// speed instead of through the driver's own pageable bounce buffer; and the copies are
// asynchronous on the worker's own stream (a ggml backend instance for the device), two buffers
// taking turns, so the copy of one chunk overlaps the read of the next. Elsewhere (CPU builds,
// virtual devices, a device without events) one ordinary buffer and synchronous copies.
//
// Per chunk:   char* buf = staging.Acquire();   (waits until the copies out of it finished)
//              ...read into buf...
//              staging.CopyOut(tensor, buf + k, offset, n);   (any number)
//              staging.Submit();
// then, once: Finish() waits for every copy.
//
// Thread safety: none; one per worker thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"

struct ggml_tensor;
struct ggml_backend;
struct ggml_backend_device;

namespace cohost::loader {

struct StagingOptions {
  size_t buffer_bytes = 0;  // one chunk
  // The device that most staged bytes go to (null: none, plain host staging).
  ggml_backend_device* device = nullptr;
  bool pinned = true;  // pinned buffers where the device offers them
  bool async = true;   // asynchronous copies with two buffers, where the device has events
};

class Staging {
 public:
  // Errors: kResourceExhausted when a buffer cannot be allocated.
  static StatusOr<std::unique_ptr<Staging>> Create(const StagingOptions& options);
  ~Staging();  // Finish()es first
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  // A buffer of buffer_bytes to read the next chunk into; copies submitted from it earlier are done.
  char* Acquire();
  // Copies `size` bytes at `src` (inside the acquired buffer) to `tensor` at `offset`: queued on
  // the worker's stream when the tensor lives on the staging device and copies are asynchronous,
  // otherwise done before returning.
  void CopyOut(ggml_tensor* tensor, const char* src, size_t offset, size_t size);
  // Marks the end of the current buffer's copies.
  void Submit();
  // Waits for every queued copy.
  void Finish();

  bool pinned() const { return pinned_; }
  bool async() const { return backend_ != nullptr; }
  // "pinned, async", "pinned", or "pageable": for logs and load reports.
  std::string Describe() const;

 private:
  struct Impl;
  Staging() = default;

  bool pinned_ = false;
  ggml_backend* backend_ = nullptr;  // the worker's stream; null: synchronous copies
  ggml_backend_device* device_ = nullptr;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohost::loader
