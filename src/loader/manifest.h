// Manifest of a packed model artifact (`cohost pack`): the file cut into uniform chunks, the
// SHA-256 of each, and which chunks each tensor spans. Stored as JSON beside the model
// ("<model>.manifest.json"). The chunk grid starts at byte 0 of the file.
//
// Thread safety: immutable after Build/Parse; const methods from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "loader/byte_source.h"

namespace cohost::loader {

// A read-only run of bytes.
struct ByteSpan {
  const void* data;
  size_t size;
};

struct ManifestTensor {
  std::string name;
  uint64_t offset = 0;  // absolute file offset of its data
  uint64_t size = 0;
  size_t first_chunk = 0;
  size_t last_chunk = 0;  // inclusive
};

class Manifest {
 public:
  static constexpr const char* kFormat = "cohost-manifest-1";

  // Reads the whole of `source` (with `concurrency` parallel reads) and hashes it. The GGUF
  // header gives the tensor map. Errors: the source's, kDataLoss for a non-GGUF or truncated file.
  static StatusOr<Manifest> Build(const ByteSource& source, size_t chunk_bytes, int concurrency);
  // Parses JSON. Errors: kDataLoss naming the field that is missing or wrong.
  static StatusOr<Manifest> Parse(const std::string& json_text, const std::string& origin);
  std::string ToJson() const;

  uint64_t file_size() const { return file_size_; }
  size_t chunk_bytes() const { return chunk_bytes_; }
  size_t n_chunks() const { return sha256_.size(); }
  const std::string& chunk_sha256(size_t i) const { return sha256_[i]; }
  uint64_t chunk_offset(size_t i) const { return i * chunk_bytes_; }
  size_t chunk_size(size_t i) const;
  const std::vector<ManifestTensor>& tensors() const { return tensors_; }

  // OK when `data` (the chunk's bytes) hashes to chunk i's SHA-256; kDataLoss naming the chunk,
  // its offsets and both hashes otherwise.
  Status VerifyChunk(size_t i, const void* data, size_t len, const std::string& uri) const;
  // The same for a chunk whose bytes lie in several buffers: `parts`, in file order, together
  // make up the chunk.
  Status VerifyChunk(size_t i, const std::vector<ByteSpan>& parts, const std::string& uri) const;

 private:
  uint64_t file_size_ = 0;
  size_t chunk_bytes_ = 0;
  std::vector<std::string> sha256_;
  std::vector<ManifestTensor> tensors_;
};

// "<uri>.manifest.json" (same scheme, same place).
std::string ManifestUriFor(const std::string& model_uri);

// Hex SHA-256 of a buffer, or of several in order.
std::string Sha256HexOf(const void* data, size_t len);
std::string Sha256HexOf(const std::vector<ByteSpan>& parts);

}  // namespace cohost::loader
