// CheckGgufHeader: cohost's own checks of a parsed GGUF header, made before llama.cpp builds a
// model from it.
//
// llama.cpp trusts a model's hyper-parameters and stops the whole process (GGML_ASSERT, SIGABRT)
// on some impossible ones, e.g. `<arch>.block_count` 0 or 0xFFFFFFFF. One bad file must fail
// one load with a clear error, not kill a runner with a signal or the serve that measures it, so
// every path into llama.cpp (Model::Load, the streaming loader, the memory dry run) runs these
// checks first.
//
// Also reads the few hyper-parameters the control plane bounds a spec with (GgufShape).
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

struct gguf_context;

namespace cohost::loader {

// The allowed ranges. The layer and expert limits are llama.cpp's own (LLAMA_MAX_LAYERS,
// LLAMA_MAX_EXPERTS in llama-hparams.h); the others are far above any published model.
inline constexpr int64_t kMaxBlockCount = 512;
inline constexpr int64_t kMaxEmbeddingLength = 1 << 20;
inline constexpr int64_t kMaxHeadCount = 1 << 16;
inline constexpr int64_t kMaxContextLength = 1 << 24;
inline constexpr int64_t kMaxVocabSize = 1 << 24;
inline constexpr int64_t kMaxExpertCount = 1024;

// What the control plane needs from a header to bound a spec before measuring it.
struct GgufShape {
  std::string arch;
  int64_t n_layer = 0;
  int64_t n_embd = 0;
  int64_t n_head = 0;     // 0 when the file gives per-layer counts
  int64_t n_head_kv = 0;  // likewise; defaults to n_head
  int64_t n_ctx_train = 0;
  int64_t key_length = 0;    // per head; defaults to n_embd / n_head
  int64_t value_length = 0;  // likewise
  // Bytes of F16 K and V cache for one token of context over every layer (an upper bound when
  // the head counts vary by layer: the largest is taken). 0 when unknown.
  int64_t KvBytesPerToken() const;
};

// Checks `g`, read from `uri` (for messages) of `file_size` bytes: general.architecture is
// present; block_count, embedding_length, context_length, head counts, expert counts and the
// vocabulary size lie in the ranges above (and are consistent: KV heads divide heads, heads
// divide the width unless key_length is given, experts used <= experts); tensor data lies
// within the file. Errors: kInvalidArgument, field "model", naming the key, its value and the
// allowed range; kDataLoss for a truncated file (both sizes named).
Status CheckGgufHeader(const gguf_context* g, uint64_t file_size, const std::string& uri);

// Reads the shape of a header (best after CheckGgufHeader); 0 (or "") for what it does not give.
GgufShape ReadGgufShape(const gguf_context* g);

// Opens `path` (a local file), checks it as CheckGgufHeader does and reads its shape. Refuses
// what is not a regular file before reading a byte (a directory, /dev/zero, a FIFO).
// Errors: kNotFound (no such file); kDataLoss (not a regular file, not GGUF, unreadable header,
// truncated); as CheckGgufHeader.
StatusOr<GgufShape> CheckGgufFileHeader(const std::string& path);

}  // namespace cohost::loader
