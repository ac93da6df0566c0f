// Streaming model load: GGUF header from a ByteSource, the model created with llama.cpp's
// llama_model_init_from_user, tensor data filled by parallel ranged reads.
//
// How: the header is read through a small block cache (sequential small reads become a few large
// ranged reads). llama.cpp allocates every tensor (host or device memory) and calls back once per
// tensor; the callback only records where each tensor's bytes lie in the file. Then `concurrency`
// workers, each owning one staging buffer of `chunk_bytes` (the ring), fetch the data section in
// file order, chunk by chunk, and copy each chunk into the tensors it overlaps as soon as it
// arrives (ggml_backend_tensor_set). From a source where small reads are cheap (a local file),
// the parts of a chunk inside host-memory tensors are read straight into them; from a remote one,
// a chunk is one read, in place only when it lies inside one host-memory tensor. Reads and copies
// of different chunks overlap. No temporary file, no full host copy.
//
// Tensors llama.cpp creates that the file lacks (optional biases, rope frequency factors,
// per-matrix ".scale" and ".input_scale" factors, an untied output matrix) are filled with the values that make them
// no-ops (0 for biases, 1 for rope and scale factors, the token embedding for output.weight); any
// other missing tensor fails the load.
//
// Thread safety: StreamModel may run on any thread; it starts and joins its own workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "loader/byte_source.h"

struct llama_model;
struct llama_model_params;

namespace cohost::loader {

class Manifest;

struct LoadProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  double seconds = 0;  // since the data phase started
};

struct StreamOptions {
  // Bytes per ranged read (and per staging buffer). 8 MiB by default, as SageMaker's loader.
  size_t chunk_bytes = size_t{8} << 20;
  // Ranged reads in flight; each worker owns one staging buffer. 1..64.
  int concurrency = 4;
  // Extra attempts for a chunk whose read or checksum fails.
  int retries = 2;
  // Ask for transparent huge pages on host tensor buffers before filling them (512 times fewer
  // page faults). Off by default: on a virtual machine that returns free memory to its host
  // (free page reporting), huge pages come from exactly that memory and every first touch exits
  // to the host; measured on the development VM, a 1 GB warm load took 0.33-0.51 s without the
  // advice and 0.58-1.80 s with it once the memory had been free for a second.
  bool huge_pages = false;
  // Staging for bytes bound for device memory (see staging.h): pinned host buffers where the
  // device offers them, and asynchronous copies (two buffers per worker taking turns) on top.
  // Off: pageable buffers and synchronous copies. No effect on CPU-only loads.
  bool pinned_staging = true;
  bool async_copies = true;
  // When set, every chunk is checked against it (SHA-256); its chunk size is used. Not owned.
  const Manifest* manifest = nullptr;
  // Called from worker threads (serialised) at most every `progress_interval_s`, and at the end.
  std::function<void(const LoadProgress&)> on_progress;
  double progress_interval_s = 1.0;
};

struct StreamStats {
  uint64_t data_bytes = 0;  // tensor bytes read
  uint64_t n_params = 0;    // elements of the tensors read from the file
  size_t chunks = 0;
  double header_s = 0;      // reading and parsing the GGUF header
  double create_s = 0;      // llama_model_init_from_user (allocation)
  double data_s = 0;        // streaming the tensor data
  uint64_t device_bytes = 0;   // of data_bytes, those copied into device memory
  std::string staging = "pageable";  // how: "pinned, async", "pinned" or "pageable"
};

// Validates options; errors name the field (kInvalidArgument).
Status ValidateStreamOptions(const StreamOptions& options);

// Loads the model from `source`. On success the caller owns the model (llama_model_free).
// Errors: kDataLoss (not GGUF, unreadable header, truncated: sizes named; a chunk whose checksum
// fails after retries: chunk index and offsets named; llama.cpp rejected the model: the caller
// may append llama.cpp's logged errors), the source's read errors (after retries), and
// kInvalidArgument for bad options. Nothing is leaked on failure.
StatusOr<llama_model*> StreamModel(const ByteSource& source, const llama_model_params& params,
                                   const StreamOptions& options, StreamStats* stats = nullptr);

}  // namespace cohost::loader
