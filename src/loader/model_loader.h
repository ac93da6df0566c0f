// LoadModel: the one entry point runners use to load weights from any model URI.
//
// Chooses how: llama.cpp's own loader (mmap or read) for local files, or the streaming loader
// (stream_loader.h) for every source. Looks for a manifest beside the model and verifies chunks
// against it when found; otherwise loads unverified and says so in the log.
// Thread safety: LoadModel may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "loader/disk_cache.h"
#include "loader/source_uri.h"
#include "loader/stream_loader.h"

struct llama_model;

namespace cohost::loader {

enum class LoadMode {
  kAuto,    // local files: mmap (a full-speed model, see docs/loader.md); remote: stream
  kMmap,    // llama.cpp maps the file (local files only)
  kRead,    // llama.cpp reads the file (local files only)
  kStream,  // cohost's streaming loader (every source)
};

// "auto", "mmap", "read", "stream". Errors: kInvalidArgument (field "load-mode").
StatusOr<LoadMode> ParseLoadMode(const std::string& text);
const char* LoadModeName(LoadMode mode);

struct LoaderOptions {
  LoadMode mode = LoadMode::kAuto;
  StreamOptions stream;    // chunk size, concurrency, retries, progress (manifest set here)
  SourceOptions sources;   // HTTP timeouts, S3 endpoint and credentials
  int gpu_layers = -1;     // layers on accelerators (-1 = all)
  bool verify = true;      // use a manifest when one sits beside the model
  DiskCacheOptions cache;  // HTTP/S3 artifacts are kept here when cache.dir is set
};

struct LoadReport {
  LoadMode mode_used = LoadMode::kStream;
  bool verified = false;   // every chunk checked against a manifest
  uint64_t bytes = 0;
  double seconds = 0;
  StreamStats stream;      // when streamed
  bool from_cache = false; // loaded from the disk cache
  bool cached = false;     // written to the disk cache by this load
};

// The mode `auto` resolves to for `uri`: mmap for a local file, stream for a remote one. Streaming
// a local file onto a GPU starts faster, but llama.cpp builds a streamed model through its
// virtual-model path, which adds no-op tensors (F32 output matrix, per-matrix scales, biases) that
// slow every decode step (docs/loader.md); so it is a choice (--load-mode stream), not the default.
LoadMode ResolveAutoMode(const ParsedUri& uri);

// Loads `uri`. Remote artifacts go through the disk cache when options.cache.dir is set: a
// cached copy is loaded locally (verified against its cached manifest; a corrupt one is dropped
// and fetched again); otherwise the artifact is written to the cache while it streams. A cache
// that cannot take it (full, write error) is logged and the load goes on uncached. On success the caller owns the model (llama_model_free). Errors: as for
// ParseModelUri, OpenSource and StreamModel; kInvalidArgument (field "load-mode") for mmap/read on
// a remote URI; kDataLoss when llama.cpp rejects the file (its logged errors are not included;
// the caller adds them).
StatusOr<llama_model*> LoadModel(const std::string& uri, const LoaderOptions& options, LoadReport* report);

}  // namespace cohost::loader
